"""Client fleets (issue 11, item 4): a CA's `clients:` with a names file issues one client
certificate per name, each exported to its own directory as PEM and PKCS#12 (read by
openssl); adding a name plans exactly that certificate and nothing else; removing one plans
its delete with the truthful consequence (still valid until its expiry: CLB checks no
revocation list; a client-CA rollover that reissues the others cuts it off now) in text, JSON
and Markdown; short-lived client certificates are renewed by a scheduled apply."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.engine.conftest import P12_PASSWORD, edit

EXAMPLE = Path("stacks/example.yaml")
CA = "    validity_days: 3650\n"
FLEET = """    clients:
      names_file: clients.txt
      key: ecdsa-p256
      validity_days: 7
      renew_before_days: 2
      export: {dir: "out/clients/{name}", pkcs12: true}
"""
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _fleet(workdir: Path, names: list[str]) -> None:
    (workdir / "stacks/clients.txt").write_text(
        "# one client a line\n" + "".join(f"{n}\n" for n in names))


def _applied_fleet(workdir: Path, cli) -> None:
    edit(workdir / EXAMPLE, CA, CA + FLEET)
    _fleet(workdir, ["alice", "bob", "carol"])
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text


def _acted(doc: dict) -> dict[str, dict]:
    return {c["address"]: c for c in doc["resource_changes"]
            if c["change"]["actions"] != ["no-op"]}


def _not_after(workdir: Path, address: str) -> str:
    state = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    record = next(r for r in state["resources"] if r["address"] == address)
    value: str = record["attributes"]["not_after"]
    return value


@needs_openssl
def test_a_fleet_from_a_names_file_is_exported_per_client_and_verifies(workdir, cli):
    _applied_fleet(workdir, cli)
    for name in ("alice", "bob", "carol"):
        out = workdir / f"stacks/out/clients/{name}"
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [f"ca-{name}.crt", f"ca-{name}.key", "ca.crt", f"ca-{name}.p12"])
    out = workdir / "stacks/out/clients/bob"
    verified = subprocess.run(["openssl", "verify", "-purpose", "sslclient", "-CAfile",
                               str(out / "ca.crt"), str(out / "ca-bob.crt")],
                              capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
    subject = subprocess.run(["openssl", "x509", "-in", str(out / "ca-bob.crt"), "-noout",
                              "-subject"], capture_output=True, text=True, timeout=60)
    assert "CN=bob" in subject.stdout.replace(" ", ""), subject.stdout
    p12 = subprocess.run(["openssl", "pkcs12", "-in", str(out / "ca-bob.p12"), "-passin",
                          f"pass:{P12_PASSWORD}", "-nokeys", "-clcerts"],
                         capture_output=True, text=True, timeout=60)
    assert p12.returncode == 0, p12.stderr
    assert (out / "ca-bob.crt").read_text().strip() in p12.stdout
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_adding_a_client_issues_that_certificate_and_touches_nothing_else(workdir, cli):
    _applied_fleet(workdir, cli)
    _fleet(workdir, ["alice", "bob", "carol", "dave"])
    doc = json.loads(cli("plan", EXAMPLE, "--json").out)
    acted = _acted(doc)
    assert set(acted) == {"certificate.ca-dave"}, acted
    dave = acted["certificate.ca-dave"]
    assert dave["change"]["actions"] == ["create"]
    assert dave["change"]["after"]["export"] == {
        "dir": "out/clients/dave", "pkcs12": True, "legacy_pkcs12": False}
    assert dave["change"]["after"]["subject"] == {"common_name": "dave"}
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Resources: 1 added, 0 changed, 0 destroyed." in applied.err, applied.err
    assert (workdir / "stacks/out/clients/dave/ca-dave.p12").is_file()


def test_removing_a_client_says_its_certificate_stays_valid_and_how_to_cut_it_off(workdir,
                                                                                   cli):
    _applied_fleet(workdir, cli)
    until = _not_after(workdir, "certificate.ca-bob")
    detail = (f"its certificate stays valid until {until}: CLB checks no revocation list; "
              "to cut it off now, run a client-CA rollover that reissues the others")
    _fleet(workdir, ["alice", "carol"])

    text = cli("plan", EXAMPLE)
    assert "# certificate.ca-bob will be destroyed" in text.out, text.out
    assert f"# ({detail})" in text.out, text.out
    doc = json.loads(cli("plan", EXAMPLE, "--json").out)
    acted = _acted(doc)
    assert set(acted) == {"certificate.ca-bob"}, acted
    assert acted["certificate.ca-bob"]["action_reason"] == "delete_because_no_resource_config"
    assert acted["certificate.ca-bob"]["action_detail"] == detail
    markdown = cli("plan", EXAMPLE, "--format", "markdown")
    assert detail in markdown.out, markdown.out

    # A destroy deletes the CA and the listeners too: no such detail there.
    destroy = json.loads(cli("plan", EXAMPLE, "--destroy", "--json").out)
    assert all("action_detail" not in c for c in destroy["resource_changes"]
               if c["address"] == "certificate.ca-alice")


def test_short_lived_client_certificates_are_renewed_by_the_scheduled_apply(workdir, cli):
    _applied_fleet(workdir, cli)
    expires = datetime.fromisoformat(
        _not_after(workdir, "certificate.ca-alice").replace("Z", "+00:00"))
    at = (expires - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = json.loads(cli("plan", EXAMPLE, "--at", at, "--json").out)
    acted = _acted(doc)
    assert set(acted) == {"certificate.ca-alice", "certificate.ca-bob", "certificate.ca-carol"}
    assert acted["certificate.ca-alice"]["action_reason"] == "replace_because_expiring"
    assert "renew_before_days 2" in acted["certificate.ca-alice"]["action_detail"]
    old = (workdir / "stacks/out/clients/alice/ca-alice.crt").read_text()
    applied = cli("apply", EXAMPLE, "--at", at, "--auto-approve")
    assert applied.code == 0, applied.text
    assert (workdir / "stacks/out/clients/alice/ca-alice.crt").read_text() != old
    assert cli("plan", EXAMPLE, "--at", at, "--detailed-exitcode").code == 0


def test_a_missing_names_file_is_one_positioned_message_and_exit_1(workdir, cli):
    edit(workdir / EXAMPLE, CA, CA + FLEET)
    for command in ("validate", "plan"):
        result = cli(command, EXAMPLE)
        assert result.code == 1, result.text
        assert ("stacks/example.yaml:22:19: error: certificates.ca.clients.names_file: cannot "
                "read the names file clients.txt: no such file (hint: the path is relative to "
                "the stack file's folder)") in result.text, result.text
        assert "Traceback" not in result.text
