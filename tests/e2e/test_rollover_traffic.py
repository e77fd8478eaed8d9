"""A client-CA rollover, every stage applied while two clients send requests without pause
through the data plane of `mtlsform emulator serve` (issue 11, client-CA rollover): one holds a
client certificate of the old CA (the whole time), one of the new CA (from stage 2 on, once the
listener trusts both). No request fails at any stage; after the old CA is retired the old
client is refused in a real handshake. The certificates are checked with `openssl verify` too,
and no plan shows a private key or the PKCS#12 password."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from mtlsform.cli.main import run
from mtlsform.pki import CertificateMaterial, generate_certificate
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Certificate, Subject
from tests.e2e.cloud import state_attributes
from tests.e2e.conftest import P12_PASSWORD, free_offset
from tests.e2e.test_rotation_traffic import Traffic

pytestmark = pytest.mark.e2e

DOMAIN = "www.example.com"
CA = "certificate.clients-ca"
STACK = """\
version: 1
stack: roll
provider: {kind: emulator, region: ap-guangzhou}
certificates:
  server-ca:
    type: ca
    subject: {common_name: Roll Server CA}
    key: ecdsa-p256
  server:
    type: server
    issuer: server-ca
    subject: {common_name: www.example.com}
    key: ecdsa-p256
  clients-ca:
    type: ca
    subject: {common_name: Roll Clients CA}
    key: ecdsa-p256
    ROLLOVER
    clients:
      names: [alice]
      key: ecdsa-p256
      export: {dir: "clients/{name}", pkcs12: true}
load_balancers:
  web: {name: roll-clb, network: public}
backends:
  rs-1: {instance: ins-rs1, port: 80, weight: 10}
listeners:
  https:
    load_balancer: web
    port: 443
    tls: {mode: mutual, certificate: server, client_ca: clients-ca}
    rules:
      - domain: www.example.com
        backends: [rs-1]
"""
ROLLOVER = "rollover: {subject: {common_name: Roll Clients CA 2}, retire: RETIRE}"


def _context(server_ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server_ca))
    context.load_cert_chain(cert, key)
    return context


def _new_ca_client(folder: Path, attrs: dict) -> tuple[Path, Path]:
    """A client certificate of the new CA the rollover issued (as a fleet member would get)."""
    ca = CertificateMaterial.from_pem(attrs["next_certificate_pem"], "",
                                      Sensitive(attrs["next_private_key_pem"]))
    spec = Certificate(name="carol", type="client", subject=Subject(common_name="carol"),
                       key="ecdsa-p256", issuer="clients-ca")
    client = generate_certificate(spec, ca)
    assert client.private_key_pem is not None
    folder.mkdir()
    (folder / "carol.crt").write_text(client.certificate_pem)
    (folder / "carol.key").write_text(client.private_key_pem.reveal())
    return folder / "carol.crt", folder / "carol.key"


def _openssl_verify(ca_file: Path, cert: Path) -> bool:
    done = subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), str(cert)],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0 and ": OK" in done.stdout


def test_every_rollover_stage_under_traffic_locks_no_one_out(tmp_path, environ, serve, capsys):
    folder = tmp_path / "roll"
    folder.mkdir()
    stack = folder / "stack.yaml"
    stack.write_text(STACK.replace("    ROLLOVER\n", ""))
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    vip = state_attributes(folder, "roll", "load_balancer.web")["vip"]
    server_ca = tmp_path / "server-ca.crt"
    server_ca.write_text(state_attributes(folder, "roll", "certificate.server-ca")
                         ["certificate_pem"])
    exported = folder / "clients" / "alice"
    old_files = tmp_path / "old-alice"  # what the old client keeps: its files of the old CA
    shutil.copytree(exported, old_files)
    old_cert, old_key = old_files / "clients-ca-alice.crt", old_files / "clients-ca-alice.key"
    old_ca = tmp_path / "old-ca.crt"
    old_ca.write_text(state_attributes(folder, "roll", CA)["certificate_pem"])

    offset = free_offset([(vip, 443), ("127.32.0.1", 80)])
    serve(folder / ".mtlsform" / "emulator", offset, (vip, 443 + offset))
    address = (vip, 443 + offset)
    old = Traffic(address, DOMAIN, _context(server_ca, old_cert, old_key))
    assert old.one()[0]

    senders: list[tuple[Traffic, threading.Thread]] = []

    def send(traffic: Traffic) -> None:
        thread = threading.Thread(target=traffic.run, daemon=True)
        thread.start()
        senders.append((traffic, thread))

    def stage(edit: tuple[str, str] | None = None) -> str:
        if edit is not None:
            stack.write_text(stack.read_text().replace(*edit))
        capsys.readouterr()
        shown = []
        for flags in ([], ["--json"], ["--format", "markdown"]):
            run(["plan", str(stack), *flags])
            shown.append(capsys.readouterr().out)
        code = run(["apply", str(stack), "--auto-approve"])
        applied = capsys.readouterr()
        assert code == 0, applied.err
        for text in [*shown, applied.out, applied.err]:
            assert "PRIVATE KEY" not in text and P12_PASSWORD not in text
        for traffic, _ in senders:  # some more requests after each stage
            during = len(traffic.outcomes)
            while len(traffic.outcomes) < during + 10:
                traffic.stop.wait(0.01)
        return shown[0] + applied.out + applied.err

    new: Traffic | None = None
    send(old)
    try:
        # 1: the new CA is issued; the old one stays the only one trusted
        stack.write_text(STACK.replace("ROLLOVER", ROLLOVER.replace("RETIRE", "auto")))
        text = stage()
        assert "client-CA rollover stage 1 of 4" in text
        # 2: one upload holding both roots, the listener switched and probed
        text = stage()
        assert "client-CA rollover stage 2 of 4" in text
        assert "listener.https lets in a client certificate of each trusted CA" in text
        trust = tmp_path / "trust.pem"
        attrs = state_attributes(folder, "roll", CA)
        trust.write_text(attrs["trust_pem"])
        new_cert, new_key = _new_ca_client(tmp_path / "new-client", attrs)
        new = Traffic(address, DOMAIN, _context(server_ca, new_cert, new_key))
        send(new)
        # 3: the fleet is reissued and exported from the new CA; both CAs stay trusted
        text = stage()
        assert "client-CA rollover stage 3 of 4" in text
        assert "waits at stage 3 of 4" in stage()  # nothing is due yet: a no-op
        # 4: retired at the stack's date: the new root only
        text = stage(("retire: auto", "retire: 2026-01-01"))
        assert "client-CA rollover stage 4 of 4" in text
    finally:
        for traffic, _ in senders:
            traffic.stop.set()
        for _, thread in senders:
            thread.join(timeout=30)

    for traffic, name in ((old, "old"), (new, "new")):
        assert traffic is not None
        failed = [why for ok, why in traffic.outcomes if not ok]
        # the old client's requests stop being answered only with the last stage
        if name == "old":
            last_ok = max(i for i, (ok, _) in enumerate(traffic.outcomes) if ok)
            failed = [why for ok, why in traffic.outcomes[:last_ok] if not ok]
        assert not failed, f"{name}: {len(failed)} of {len(traffic.outcomes)} failed: {failed[:3]}"
        assert len(traffic.outcomes) > 40
    assert new is not None and new.one()[0]
    # after retirement the old certificate is refused in a real handshake, the new ones not
    refused = Traffic(address, DOMAIN, _context(server_ca, old_cert, old_key)).one()
    assert refused[0] is False, refused
    reissued = Traffic(address, DOMAIN, _context(
        server_ca, exported / "clients-ca-alice.crt", exported / "clients-ca-alice.key")).one()
    assert reissued[0], reissued

    new_ca = tmp_path / "new-ca.crt"
    new_ca.write_text(state_attributes(folder, "roll", CA)["certificate_pem"])
    assert (exported / "ca.crt").read_text() == new_ca.read_text()
    assert _openssl_verify(trust, old_cert)  # the old client against the two-root bundle
    assert _openssl_verify(trust, exported / "clients-ca-alice.crt")
    assert _openssl_verify(new_ca, exported / "clients-ca-alice.crt")
    assert not _openssl_verify(new_ca, old_cert)
    assert not _openssl_verify(old_ca, exported / "clients-ca-alice.crt")
    pkcs12 = subprocess.run(["openssl", "pkcs12", "-in", str(exported / "clients-ca-alice.p12"),
                             "-nokeys", "-passin", f"pass:{P12_PASSWORD}"],
                            capture_output=True, text=True, check=False)
    assert pkcs12.returncode == 0 and "Roll Clients CA 2" in pkcs12.stdout

    # finished: the new settings become the CA's own, and the plan has nothing to do
    stack.write_text(STACK.replace("    ROLLOVER\n", "").replace(
        "Roll Clients CA}", "Roll Clients CA 2}"))
    assert run(["plan", str(stack), "--detailed-exitcode"]) == 0


def test_a_listener_that_refuses_the_new_ca_is_switched_back(tmp_path, environ, serve, capsys):
    """The data plane frozen (MTLSFORM_EMULATOR_DATA_PLANE_FROZEN: it keeps trusting the old
    root only): stage 2's probe is refused, the listener is switched back, the apply fails
    with one message and nothing is reissued; the fault gone, the next applies go on."""
    from mtlsform.emulator import environment

    folder = tmp_path / "roll"
    folder.mkdir()
    stack = folder / "stack.yaml"
    stack.write_text(STACK.replace("    ROLLOVER\n", ""))
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    old_upload = state_attributes(folder, "roll", "ssl_certificate.clients-ca")["id"]
    stack.write_text(STACK.replace("ROLLOVER", ROLLOVER.replace("RETIRE", "auto")))
    assert run(["apply", str(stack), "--auto-approve"]) == 0  # stage 1: no cloud change
    vip = state_attributes(folder, "roll", "load_balancer.web")["vip"]

    environ[environment.DATA_PLANE_FROZEN] = "1"
    offset = free_offset([(vip, 443), ("127.32.0.1", 80)])
    served = serve(folder / ".mtlsform" / "emulator", offset, (vip, 443 + offset))
    capsys.readouterr()
    assert run(["apply", str(stack), "--auto-approve"]) == 1
    failed = capsys.readouterr().err
    assert "Traceback" not in failed
    new_upload = state_attributes(folder, "roll", "ssl_certificate.clients-ca")["id"]
    assert (f"listener.https refused a client certificate of 'Roll Clients CA 2' after the "
            f"switch to client CA upload {new_upload}: switched back to {old_upload}") in failed
    assert state_attributes(folder, "roll", "listener.https")["client_ca_id"] == old_upload
    alice = state_attributes(folder, "roll", "certificate.clients-ca-alice")
    assert alice["issuer_cn"] == "Roll Clients CA"  # nothing reissued
    served.stop()

    del environ[environment.DATA_PLANE_FROZEN]
    serve(folder / ".mtlsform" / "emulator", offset, (vip, 443 + offset))
    capsys.readouterr()
    code = run(["apply", str(stack), "--auto-approve"])
    applied = capsys.readouterr().err
    # the switch and its probe come first; stage 3 may wait for them to the next apply
    assert "listener.https lets in a client certificate of each trusted CA" in applied
    assert code == 0 or "waits until listener.https trusts the old and the new CA" in applied
    assert state_attributes(folder, "roll", "listener.https")["client_ca_id"] == new_upload
