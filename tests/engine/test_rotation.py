"""A certificate rotation (create-first replacement of the server certificate and its upload)
that fails or is killed at any mutating call converges on the next apply: nothing wedged,
nothing duplicated, no upload left behind in the SSL service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.conftest import edit
from tests.engine.every_call import CRASH_EXIT, run_in_child

EXAMPLE = Path("stacks/example.yaml")
# The server certificate gains a DNS name: a new certificate, a new upload, the listener moved
# to it in place, then the old upload deleted.
ROTATE = ('dns_names: ["${var.domain}"]', 'dns_names: ["${var.domain}", "api.example.com"]')


def uploads(workdir: Path) -> list[str]:
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    return sorted(world["world"]["certificates"])


def assert_converged(workdir: Path, cli) -> None:
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    state = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    recorded = sorted(r["attributes"]["id"] for r in state["resources"]
                      if r["type"] == "ssl_certificate")
    assert uploads(workdir) == recorded  # every upload in the cloud is one the state holds
    assert len(recorded) == 2 and not any("deposed" in r for r in state["resources"])
    assert state["pending_operations"] == []


def test_a_failed_upload_during_a_rotation_does_not_wedge_the_stack(workdir, cli, monkeypatch):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, *ROTATE)
    monkeypatch.setenv("MTLSFORM_EMULATOR_FAULTS", "UploadCertificate:InternalError:1")
    failed = cli("apply", EXAMPLE, "--auto-approve")
    assert failed.code == 1
    monkeypatch.delenv("MTLSFORM_EMULATOR_FAULTS")
    planned = cli("plan", EXAMPLE)
    assert planned.code == 0, planned.text
    assert_converged(workdir, cli)


@pytest.mark.parametrize("before_apply", [False, True], ids=["after-the-call", "before-it"])
def test_a_rotation_killed_at_any_mutating_call_converges(workdir, cli, before_apply):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, *ROTATE)
    crashes = 0
    # After the call: the Nth mutating call lands and its answer is lost. Before it: N calls
    # land and the next one dies unserved (N = 0: the first).
    for n in range(0 if before_apply else 1, 20):
        env = {"MTLSFORM_EMULATOR_CRASH_AFTER": str(n)}
        if before_apply:
            env["MTLSFORM_EMULATOR_CRASH_BEFORE_APPLY"] = "1"
        # a real process death (os._exit in a forked child), as in a shell
        run = run_in_child(workdir, ("apply", str(EXAMPLE), "--auto-approve"), env)
        if "simulated crash" not in run.err:
            assert run.code == 0, run.text
            break  # the rotation has fewer than n mutating calls: every one was tried
        assert run.code == CRASH_EXIT, run.text
        crashes += 1
        assert_converged(workdir, cli)
        edit(workdir / EXAMPLE, ROTATE[1], ROTATE[0])  # rotate back, then try the next call
        assert_converged(workdir, cli)
        edit(workdir / EXAMPLE, *ROTATE)
    assert crashes >= 3  # upload, move the listener, delete the old upload
