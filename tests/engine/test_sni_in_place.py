"""SNI switched on in place (ModifyListener SniSwitch 0 -> 1, issue 15 item 10): the
walk-through's listener keeps its ID, its domain keeps serving, and `verify` passes; switching
it off again is planned as a replacement that says why."""

from __future__ import annotations

from pathlib import Path

from mtlsform.session import open_session
from tests.engine.conftest import edit, stack_at

EXAMPLE = Path("stacks/example.yaml")


def recorded_id(workdir: Path, address: str) -> str:
    with open_session(stack_at(workdir / EXAMPLE), operation="look") as session:
        return str(session.state.get(address).attributes["id"])


def test_sni_is_switched_on_in_place_and_never_off(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    listener, rule = recorded_id(workdir, "listener.https"), recorded_id(
        workdir, 'rule.https["www.example.com/"]')
    path = workdir / EXAMPLE
    edit(path, "    sni: false\n    tls: {mode: mutual, certificate: server, client_ca: ca}\n",
         "    sni: true\n")
    edit(path, "        backends: [rs-1, rs-2]\n",
         "        backends: [rs-1, rs-2]\n"
         "        tls: {mode: mutual, certificate: server, client_ca: ca}\n")
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "# listener.https will be updated in place" in planned.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert recorded_id(workdir, "listener.https") == listener  # the same listener
    assert recorded_id(workdir, 'rule.https["www.example.com/"]') == rule
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    verified = cli("verify", EXAMPLE, "--requests", "4")
    assert verified.code == 0, verified.text

    edit(path, "    sni: true\n",
         "    sni: false\n    tls: {mode: mutual, certificate: server, client_ca: ca}\n")
    edit(path, "        backends: [rs-1, rs-2]\n"
         "        tls: {mode: mutual, certificate: server, client_ca: ca}\n",
         "        backends: [rs-1, rs-2]\n")
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "# listener.https must be replaced" in planned.out
    assert "sni cannot be switched off in place (CLB refuses SniSwitch 1 -> 0)" in planned.out
