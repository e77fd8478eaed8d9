"""The rotation check on the embedded emulator (issue 11, rotation as a verified transaction):
a server certificate renewed with `apply --at` is confirmed by a real TLS handshake to a data
plane the embedded emulator starts in this process, on its world, for the entries it checks
(SNI off: the listener; SNI on: each domain), and stops with the apply, leaving no listening
socket and no thread behind. When that data plane keeps serving the world as the run found it
(MTLSFORM_EMULATOR_DATA_PLANE_FROZEN), the entry is switched back, the apply fails with one
message, the old upload is kept, and the next plan shows the rotation again. (The served case,
`emulator serve --data-plane`: tests/e2e/test_rotation_check.py.)"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mtlsform.emulator import environment
from tests.leaks import dataplane_threads, listening_sockets

# stack -> the entries a renewal of its server certificates switches, and their certificate
ENTRIES = {
    "sni-off": ("example", {"listener.https": "server"}),
    "sni-on": ("sni", {'rule.https["api.example.com/"]': "api",
                       'rule.https["www.example.com/"]': "www"}),
}


def _attributes(workdir: Path, stack: str, address: str) -> dict:
    state = json.loads((workdir / f"stacks/.mtlsform/{stack}.state.json").read_text())
    return next(r["attributes"] for r in state["resources"] if r["address"] == address)


def _renewal_instant(workdir: Path, stack: str, certificate: str) -> str:
    """10 days before the certificate expires: inside its window (renew_before_days 30)."""
    text = _attributes(workdir, stack, f"certificate.{certificate}")["not_after"]
    expires = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (expires - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calls(log: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_renewal_on_the_embedded_emulator_is_confirmed_by_a_handshake(
        name, workdir, cli, monkeypatch):
    stack, entries = ENTRIES[name]
    path = Path(f"stacks/{stack}.yaml")
    sockets, threads = listening_sockets(), dataplane_threads()
    assert cli("apply", path, "--auto-approve").code == 0
    at = _renewal_instant(workdir, stack, next(iter(entries.values())))
    old = {a: _attributes(workdir, stack, f"ssl_certificate.{c}")["id"]
           for a, c in entries.items()}
    calls = workdir / "calls.log"
    monkeypatch.setenv(environment.CALL_LOG, str(calls))

    applied = cli("apply", path, "--at", at, "--auto-approve")
    assert applied.code == 0, applied.text
    confirmed = dict(re.findall(r"^(\S+) presents the new certificate \(sha256 (\w+)\)\.$",
                                applied.err, re.MULTILINE))
    assert confirmed == {  # one handshake note per switched entry, with its new certificate
        address: _attributes(workdir, stack, f"certificate.{c}")["fingerprint"][:16]
        for address, c in entries.items()}, applied.err
    assert "switched back" not in applied.text
    landed = _calls(calls)
    assert landed.count("DeleteCertificate") == len(entries), landed  # the old uploads, last
    assert all(_attributes(workdir, stack, f"ssl_certificate.{c}")["id"] != old[a]
               for a, c in entries.items())
    # the apply's data plane stopped with it
    assert dataplane_threads() == threads
    assert listening_sockets() == sockets
    assert cli("plan", path, "--at", at, "--detailed-exitcode").code == 0


def test_a_frozen_embedded_data_plane_switches_the_entry_back(workdir, cli, monkeypatch):
    path = Path("stacks/example.yaml")
    assert cli("apply", path, "--auto-approve").code == 0
    at = _renewal_instant(workdir, "example", "server")
    old = _attributes(workdir, "example", "certificate.server")["fingerprint"]
    old_upload = _attributes(workdir, "example", "ssl_certificate.server")["id"]
    calls = workdir / "calls.log"
    monkeypatch.setenv(environment.CALL_LOG, str(calls))
    monkeypatch.setenv(environment.DATA_PLANE_FROZEN, "1")

    failed = cli("apply", path, "--at", at, "--auto-approve")
    assert failed.code == 1, failed.text
    assert "Traceback" not in failed.text
    new_upload = _attributes(workdir, "example", "ssl_certificate.server")["id"]
    assert new_upload != old_upload
    assert (f"listener.https still presents sha256 {old[:16]} after the switch to "
            f"{new_upload} (sha256 ") in failed.err, failed.err
    assert f"switched back to {old_upload}; the old upload is kept" in failed.err, failed.err
    assert failed.err.count("CertificateNotPresented") == 2, failed.err  # the line, the summary
    # the listener is back on the old upload (one handshake, no wait), which is not deleted
    assert _calls(calls) == ["UploadCertificate", "ModifyListener", "ModifyListener"]
    assert _attributes(workdir, "example", "listener.https")["certificate_id"] == old_upload
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    assert old_upload in world["world"]["certificates"]

    planned = cli("plan", path, "--at", at, "--json")
    doc = json.loads(planned.out)
    acted = {c["address"]: c["change"]["actions"] for c in doc["resource_changes"]
             if c["change"]["actions"] != ["no-op"]}
    assert acted.get("listener.https") == ["update"], acted
