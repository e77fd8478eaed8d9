"""A client CA's renewal goes through the staged rollover (issue 11, "Done when"): `plan --at`
inside the CA's window shows stage 1 with the expiry reason, in text, JSON and Markdown, not a
one-step replacement, and nothing else; the stages then follow one apply each, stage 4 waits
for the old CA's last client certificate and `plan --at` previews when it is due. A stack's
`rollover:` on a CA that cannot roll over is one clear error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from tests.engine.conftest import P12_PASSWORD

STACK = """\
version: 1
stack: renewing
certificates:
  server-ca: {type: ca, subject: {common_name: Renewing Server CA}, key: ecdsa-p256}
  server:
    type: server
    issuer: server-ca
    subject: {common_name: www.example.com}
    key: ecdsa-p256
  clients-ca:
    type: ca
    subject: {common_name: Renewing Clients CA}
    key: ecdsa-p256
    validity_days: 100
    clients:
      names: [alice, bob]
      key: ecdsa-p256
      validity_days: 200
      export: {dir: "clients/{name}"}
load_balancers:
  web: {name: renewing-clb}
backends:
  rs-1: {instance: ins-rs1, port: 80}
listeners:
  https:
    load_balancer: web
    port: 443
    tls: {mode: mutual, certificate: server, client_ca: clients-ca}
    rules:
      - {domain: www.example.com, backends: [rs-1]}
"""


def _attributes(stack: Path, address: str) -> dict:
    state = json.loads((stack.parent / ".mtlsform/renewing.state.json").read_text())
    return next(r["attributes"] for r in state["resources"] if r["address"] == address)


def _instant(text: str, days: int = 0) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_secrets(*texts: str) -> None:
    for text in texts:
        assert "PRIVATE KEY" not in text and P12_PASSWORD not in text


def test_a_client_ca_in_its_window_is_renewed_by_the_rollover_stages(workdir, cli):
    stack = workdir / "renewing.yaml"
    stack.write_text(STACK)
    assert cli("apply", stack, "--auto-approve").code == 0
    expires = _attributes(stack, "certificate.clients-ca")["not_after"]
    at = _instant(expires, -10)  # 10 days left: inside renew_before_days 30
    reason = f"expires on {expires} (10 days left, renew_before_days 30)"

    text = cli("plan", stack, "--at", at, "--detailed-exitcode")
    assert text.code == 2, text.text
    assert "# certificate.clients-ca will be updated in place" in text.out
    assert f"# ({reason}: renewed through a client-CA rollover" in text.out
    assert "client-CA rollover stage 1 of 4: issue the new CA" in text.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in text.out, text.out
    doc = json.loads(cli("plan", stack, "--at", at, "--json").out)
    acted = {c["address"]: c for c in doc["resource_changes"]
             if c["change"]["actions"] != ["no-op"]}
    assert set(acted) == {"certificate.clients-ca"}  # nothing else, and no replacement
    change = acted["certificate.clients-ca"]
    assert change["change"]["actions"] == ["update"]
    assert change["action_reason"] == "update_because_expiring"
    assert change["action_detail"].startswith(reason)
    markdown = cli("plan", stack, "--at", at, "--format", "markdown").out
    assert reason in markdown and "stage 1 of 4" in markdown
    _no_secrets(text.text, json.dumps(doc), markdown)

    # The stages follow, one apply each (the rehearsal of the scheduled runs).
    seen = []
    for number in (1, 2, 3):
        applied = cli("apply", stack, "--at", at, "--auto-approve")
        assert applied.code == 0, applied.text
        assert number == 3 or f"stage {number + 1} of 4" in cli("plan", stack, "--at", at).out
        seen.append(_attributes(stack, "certificate.clients-ca")["rollover_stage"])
        _no_secrets(applied.text)
    assert seen == ["issued", "trusting", "reissued"]
    ca = _attributes(stack, "certificate.clients-ca")
    alice = _attributes(stack, "certificate.clients-ca-alice")
    assert alice["issuer_fingerprint"] == ca["fingerprint"] != ca["previous_fingerprint"]
    upload = _attributes(stack, "ssl_certificate.clients-ca")
    assert upload["certificate_fingerprint"] == f"{ca['previous_fingerprint']}+" \
                                                f"{ca['fingerprint']}"
    # alice's and bob's old certificates outlive the old CA: it retires when it expires
    assert ca["retire_after"] == expires

    waiting = cli("plan", stack, "--at", at, "--detailed-exitcode")
    assert waiting.code == 0, waiting.text
    assert (f"client-CA rollover waits at stage 3 of 4: the old CA's last client "
            f"certificate expires on {expires}") in waiting.text
    due = cli("plan", stack, "--at", _instant(expires, 1), "--json")
    acted = {c["address"]: c for c in json.loads(due.out)["resource_changes"]
             if c["change"]["actions"] != ["no-op"]}
    assert set(acted) == {"certificate.clients-ca", "ssl_certificate.clients-ca",
                          "listener.https"}
    assert acted["certificate.clients-ca"]["action_reason"] == \
        "update_because_client_ca_rollover"
    assert acted["certificate.clients-ca"]["action_detail"].startswith(
        f"the old CA's last client certificate expired on {expires}: client-CA rollover "
        "stage 4 of 4: retire the old CA")
    assert cli("apply", stack, "--at", _instant(expires, 1), "--auto-approve").code == 0
    ca = _attributes(stack, "certificate.clients-ca")
    assert ca["rollover_stage"] == "retired"
    assert _attributes(stack, "ssl_certificate.clients-ca")["certificate_fingerprint"] == \
        ca["fingerprint"]
    # same settings (a renewal): nothing left to do, and nothing to tell
    done = cli("plan", stack, "--at", _instant(expires, 1), "--detailed-exitcode")
    assert done.code == 0 and "Warning" not in done.text, done.text


def test_a_rollover_on_a_server_certificate_is_one_clear_error(workdir, cli):
    stack = workdir / "renewing.yaml"
    stack.write_text(STACK.replace(
        "    subject: {common_name: www.example.com}\n",
        "    subject: {common_name: www.example.com}\n    rollover: {retire: auto}\n"))
    result = cli("validate", stack)
    assert result.code == 1
    assert "renewing.yaml:9:15: error: certificates.server.rollover: only a generated ca " \
           "can roll over; this one is a server certificate" in result.err, result.err
    assert "Traceback" not in result.err


def test_the_embedded_emulator_probes_the_two_root_upload_with_a_client_of_each_ca(
        workdir, cli):
    stack = workdir / "renewing.yaml"
    stack.write_text(STACK)
    assert cli("apply", stack, "--auto-approve").code == 0
    stack.write_text(STACK.replace(
        "    validity_days: 100\n",
        "    validity_days: 100\n    rollover: {subject: {common_name: Renewing Clients CA 2}}\n"))
    assert cli("apply", stack, "--auto-approve").code == 0  # stage 1
    applied = cli("apply", stack, "--auto-approve")  # stage 2
    assert applied.code == 0, applied.text
    assert ("listener.https lets in a client certificate of each trusted CA ('Renewing "
            "Clients CA', 'Renewing Clients CA 2').") in applied.text
