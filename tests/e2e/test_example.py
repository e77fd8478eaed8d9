"""The walk-through end to end: apply stacks/example.yaml, then the real curl with the exported
client files against the data plane of `mtlsform emulator serve`, then `mtlsform verify`, and
verify again after the client CA was swapped behind mtlsform's back."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mtlsform.cli.main import run
from tests.e2e.cloud import state_attributes, swap_client_ca
from tests.e2e.conftest import free_offset, mtlsform, run_curl

pytestmark = pytest.mark.e2e

DOMAIN = "www.example.com"
DEMO = [("127.32.0.1", 80), ("127.32.0.2", 80)]


def test_example_walkthrough(stacks, environ, serve, curl, capsys):
    root = stacks.parent
    stack = stacks / "example.yaml"

    # apply, as a user would: the installed command in a subprocess
    applied = mtlsform(["apply", "stacks/example.yaml", "--auto-approve"], environ, root)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete! Resources: 10 added, 0 changed, 0 destroyed." in applied.stderr
    client = stacks / "out" / "client-1"
    cert, ca = (client / "client.crt", client / "client.key"), client / "ca.crt"
    vip = state_attributes(stacks, "example", "load_balancer.web")["vip"]
    data_dir = stacks / ".mtlsform" / "emulator"

    # the data plane of `mtlsform emulator serve --data-plane` on the stack's world
    offset = free_offset([(vip, 443), *DEMO])
    port = 443 + offset
    served = serve(data_dir, offset, (vip, port))
    answers = [run_curl(curl, DOMAIN, vip, port, ca=ca, cert=cert) for _ in range(4)]
    assert [(a.returncode, a.status) for a in answers] == [(0, 200)] * 4, answers
    assert [a.first_line for a in answers] == ["rs-1", "rs-2", "rs-1", "rs-2"]
    assert "x-client-cert-subject: CN=client-1" in answers[0].body
    refused = run_curl(curl, DOMAIN, vip, port, ca=ca, cert=None)
    assert refused.returncode == 56, refused
    assert refused.status is None
    assert "alert certificate required" in refused.stderr
    assert "no client certificate [PEER_DID_NOT_RETURN_A_CERTIFICATE]" in served.log_text()

    # verify checks the data plane of the emulator that serves the world
    checked = mtlsform(["verify", "stacks/example.yaml"], environ, root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "data plane of `mtlsform emulator serve`" in checked.stdout
    checked = mtlsform(["verify", "stacks/example.yaml", "--address", f"{vip}:{port}"],
                       environ, root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[-1] == "6 passed, 0 failed, 0 skipped: verify passed."

    # weights 30:10, applied through the serving emulator; its data plane follows without a
    # restart: exactly three rs-1 for one rs-2
    stack.write_text(stack.read_text().replace(
        "rs-1: {instance: ins-rs1, port: 80, weight: 10}",
        "rs-1: {instance: ins-rs1, port: 80, weight: 30}"))
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    applied_err = capsys.readouterr().err
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in applied_err
    assert "Using the emulator that already serves this world" in applied_err
    answers = [run_curl(curl, DOMAIN, vip, port, ca=ca, cert=cert) for _ in range(40)]
    assert {a.status for a in answers} == {200}
    assert Counter(a.first_line for a in answers) == {"rs-1": 30, "rs-2": 10}
    assert [a.first_line for a in answers[:4]] == ["rs-1", "rs-1", "rs-2", "rs-1"]
    served.stop()

    # verify with the embedded emulator (it brings its own data plane up): all pass
    checked = mtlsform(["verify", "stacks/example.yaml", "--requests", "40"], environ, root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "rs-1 30, rs-2 10 of 40 (weights 30:10" in checked.stdout
    assert "PRIVATE KEY" not in checked.stdout + checked.stderr

    # the listener's client CA swapped out of band: check b fails, and says why
    swap_client_ca(stack)
    assert run(["verify", str(stack), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    by_check = {c["check"]: c for c in report["checks"]}
    assert by_check["request"]["result"] == "fail"
    assert by_check["request"]["reason"] == (
        "handshake refused by the server: unknown ca — the listener does not trust the stack's "
        "client CA ca (the data plane logged: client certificate from an unknown CA)")
    assert {c["check"] for c in report["checks"] if c["result"] == "fail"} == {"request"}
