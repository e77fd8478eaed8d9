"""Apply under faults, after a crash, with a held lock, and with an encrypted state."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import P12_PASSWORD

EXAMPLE = Path("stacks/example.yaml")


def test_apply_converges_with_30_percent_throttling_and_busy_errors(workdir, cli, monkeypatch):
    monkeypatch.setenv("MTLSFORM_EMULATOR_FAULTS",
                       "*:RequestLimitExceeded:0.3,*:FailedOperation.ResourceInOperating:0.3")
    monkeypatch.setenv("MTLSFORM_EMULATOR_SEED", "7")
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 0, destroyed.text


def mtlsform(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtlsform", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_run_killed_mid_apply_is_recovered_without_duplicates(workdir, cli):
    env = {**os.environ, "MTLSFORM_EMULATOR_CRASH_AFTER": "5"}
    crashed = mtlsform("apply", str(EXAMPLE), "--auto-approve", env=env, cwd=workdir)
    assert crashed.returncode != 0
    assert "simulated crash" in crashed.stderr
    state = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    assert state["pending_operations"], "the interrupted call left its intent behind"

    planned = cli("plan", EXAMPLE)
    assert planned.code == 0, planned.text
    assert "a previous run was interrupted" in planned.out
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0

    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    assert _count_listeners(world) == 1
    state = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    assert state["pending_operations"] == []


def _count_listeners(world: dict) -> int:
    found = 0

    def walk(value):
        nonlocal found
        if isinstance(value, dict):
            if str(value.get("ListenerId", value.get("listener_id", ""))).startswith("lbl-") \
                    and ("Port" in value or "port" in value):
                found += 1
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(world)
    return found


def test_a_second_run_is_refused_while_the_state_is_locked(workdir, cli):
    from mtlsform.state.local import LocalStateStore

    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    state_file = workdir / "stacks/.mtlsform/example.state.json"
    with LocalStateStore(state_file, operation="apply"):
        refused = cli("plan", EXAMPLE)
    assert refused.code == 1
    assert "apply" in refused.err and "lock" in refused.err.lower()
    assert "Traceback" not in refused.err


def test_encrypted_state_keeps_keys_unreadable_without_the_passphrase(workdir, cli, monkeypatch):
    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "correct horse battery staple")
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    state_file = workdir / "stacks/.mtlsform/example.state.json"
    text = state_file.read_text()
    assert "PRIVATE KEY" not in text
    key = (workdir / "stacks/out/client-1/client.key").read_text().splitlines()[1]
    assert key not in text

    monkeypatch.delenv("MTLSFORM_STATE_PASSPHRASE")
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0  # non-secret parts readable
    (workdir / EXAMPLE).write_text((workdir / EXAMPLE).read_text().replace(
        "common_name: client-1", "common_name: client-2"))
    refused = cli("apply", EXAMPLE, "--auto-approve")
    assert refused.code == 1
    assert "MTLSFORM_STATE_PASSPHRASE" in refused.err
    assert "Traceback" not in refused.err


def test_apply_without_a_terminal_needs_auto_approve(workdir, cli):
    refused = cli("apply", EXAMPLE)
    assert refused.code == 1
    assert "needs --auto-approve" in refused.err
    assert not (workdir / "stacks/.mtlsform/example.state.json").exists() or \
        "certificate.ca" not in (workdir / "stacks/.mtlsform/example.state.json").read_text()


def test_no_secret_reaches_output_or_the_plan(workdir, cli):
    outputs = [cli("apply", EXAMPLE, "--auto-approve"), cli("show", EXAMPLE),
               cli("show", EXAMPLE, "--json"), cli("plan", EXAMPLE, "--json"),
               cli("state", "show", EXAMPLE, "certificate.server"), cli("output", EXAMPLE)]
    key_lines = (workdir / "stacks/out/client-1/client.key").read_text().splitlines()[1:-1]
    for result in outputs:
        assert "PRIVATE KEY" not in result.text
        assert P12_PASSWORD not in result.text
        for line in key_lines:
            assert line not in result.text
    shown = cli("state", "show", EXAMPLE, "certificate.server")
    assert re.search(r"private_key_pem +=\s+\(sensitive\)", shown.out)


@pytest.mark.parametrize("name", ["sni", "imported"])
def test_other_example_stacks_apply_and_destroy_cleanly(workdir, cli, name):
    path = Path(f"stacks/{name}.yaml")
    applied = cli("apply", path, "--auto-approve")
    assert applied.code == 0, applied.text
    assert cli("plan", path, "--detailed-exitcode").code == 0
    destroyed = cli("destroy", path, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    assert _count_listeners(world) == 0


def test_a_failure_skips_only_what_depends_on_it(workdir, cli):
    from tests.engine.conftest import edit

    edit(workdir / EXAMPLE, "rs-2: {instance: ins-rs2", "rs-2: {instance: ins-nothere")
    failed = cli("apply", EXAMPLE, "--auto-approve")
    assert failed.code == 1
    assert "Apply failed. Resources: 9 added, 0 changed, 0 destroyed." in failed.err
    assert 'failed:  target.https["www.example.com/"].rs-2: RegisterTargets: ' \
        "InvalidParameter" in failed.err
    assert 'done:    target.https["www.example.com/"].rs-1' in failed.err
    assert "Traceback" not in failed.err
    listed = cli("state", "list", EXAMPLE).out.splitlines()
    assert 'target.https["www.example.com/"].rs-1' in listed
    assert 'target.https["www.example.com/"].rs-2' not in listed
    edit(workdir / EXAMPLE, "rs-2: {instance: ins-nothere", "rs-2: {instance: ins-rs2")
    planned = cli("plan", EXAMPLE)
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.out
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0


def test_a_failed_listener_skips_its_rules_and_targets(workdir, cli):
    from tencentcloud.clb.v20180317 import models

    from mtlsform.session import open_session
    from tests.engine.conftest import edit, stack_at

    edit(workdir / EXAMPLE, "port: 443", "port: 8443")
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    with open_session(stack_at(workdir / EXAMPLE), operation="setup") as session:
        lb = session.state.get("load_balancer.web").attributes["id"]
        request = models.CreateListenerRequest()
        request.from_json_string(json.dumps({"LoadBalancerId": lb, "Ports": [443],
                                             "Protocol": "TCP", "ListenerNames": ["by-hand"]}))
        session.provider_context.sdk_client("clb").CreateListener(request)
        session.provider_context.emulator.wait_for_tasks()
    edit(workdir / EXAMPLE, "port: 8443", "port: 443")
    failed = cli("apply", EXAMPLE, "--auto-approve")
    assert failed.code == 1
    assert "failed:  listener.https: CreateListener: InvalidParameter.PortCheckFailed" \
        in failed.err
    assert 'skipped: rule.https["www.example.com/"] (it depends on listener.https, which ' \
        "failed)" in failed.err
    assert 'skipped: target.https["www.example.com/"].rs-1' in failed.err
    assert failed.err.count("  failed:  ") == 1  # the cause once, not once per dependant


def test_a_lost_state_is_refused_and_adopted_only_when_asked(workdir, cli):
    """With no state and no backup, the stack's tagged objects are named and refused; only
    --adopt-found takes them over (issue 10, item 4)."""
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    for name in ("example.state.json", "example.state.json.backup"):
        (workdir / "stacks/.mtlsform" / name).unlink(missing_ok=True)
    world_before = (workdir / "stacks/.mtlsform/emulator/world.json").read_text()
    for command in (("plan", EXAMPLE), ("apply", EXAMPLE, "--auto-approve")):
        refused = cli(*command)
        assert refused.code == 1, refused.text
        assert "the cloud holds an object of stack 'example' that the state " in refused.err
        assert "load_balancer.web: lb-" in refused.err
        assert "mtlsform:stack=example" in refused.err
        assert "--adopt-found" in refused.err
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    assert world["world"] == json.loads(world_before)["world"] or \
        world["world"]["load_balancers"] == json.loads(world_before)["world"]["load_balancers"]
    planned = cli("plan", EXAMPLE, "--adopt-found")
    assert planned.code == 0, planned.text
    # The CLB is found by its tags, the listener, rule and targets by their natural keys; only
    # the local certificates (whose keys were in the lost state) are made and uploaded again.
    assert "Plan: 5 to add, 1 to change, 0 to destroy." in planned.out
    assert "load_balancer.web will be created" not in planned.out
    assert "# load_balancer.web will be adopted: lb-" in planned.out
    reasons = {c["address"]: c for c in
               json.loads(cli("plan", EXAMPLE, "--adopt-found", "--json").out)["resource_changes"]}
    assert reasons["load_balancer.web"]["action_reason"] == "adopt_because_found"
    assert "~ listener.https" in planned.out
    assert cli("apply", EXAMPLE, "--auto-approve", "--adopt-found").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    assert _count_listeners(world) == 1
    assert len(world["world"]["load_balancers"]) == 1
