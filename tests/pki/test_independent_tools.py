"""The generated set checked by independent tools: `openssl verify` and real TLS handshakes."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from mtlsform.pki.generate import generate_certificate
from mtlsform.pki.material import CertificateMaterial
from tests.pki.builders import CertSet, server_spec, write_set

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def test_openssl_verify_accepts_every_key_type(key_set: CertSet, tmp_path: Path) -> None:
    paths = write_set(tmp_path, key_set)
    result = openssl("verify", "-CAfile", str(paths["ca"]), str(paths["server"]),
                     str(paths["client"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{paths['server']}: OK", f"{paths['client']}: OK"]


def test_openssl_strict_verify_per_purpose(key_set: CertSet, tmp_path: Path) -> None:
    paths = write_set(tmp_path, key_set)
    for role, purpose in (("server", "sslserver"), ("client", "sslclient")):
        result = openssl("verify", "-x509_strict", "-purpose", purpose,
                         "-CAfile", str(paths["ca"]), str(paths[role]))
        assert result.returncode == 0, result.stderr
    # The check can fail: a server certificate is not a client certificate.
    wrong = openssl("verify", "-x509_strict", "-purpose", "sslclient",
                    "-CAfile", str(paths["ca"]), str(paths["server"]))
    assert wrong.returncode != 0
    assert "unsuitable certificate purpose" in wrong.stdout + wrong.stderr


def test_openssl_reads_the_keys(key_set: CertSet, tmp_path: Path) -> None:
    paths = write_set(tmp_path, key_set)
    for role in ("server", "client"):
        key_pub = openssl("pkey", "-in", str(paths[f"{role}_key"]), "-pubout")
        cert_pub = openssl("x509", "-in", str(paths[role]), "-noout", "-pubkey")
        assert key_pub.returncode == 0 and key_pub.stdout == cert_pub.stdout


# --- real handshakes on loopback ----------------------------------------------------------

def _server_context(cert_set: CertSet, directory: Path) -> ssl.SSLContext:
    paths = write_set(directory, cert_set)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(paths["server"], paths["server_key"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=cert_set.ca.certificate_pem)
    return ctx


def _client_context(ca: CertificateMaterial, presented: CertificateMaterial,
                    directory: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=ca.certificate_pem)
    cert, key = directory / "presented.crt", directory / "presented.key"
    cert.write_text(presented.full_chain_pem)
    assert presented.private_key_pem is not None
    key.write_text(presented.private_key_pem.reveal())
    ctx.load_cert_chain(cert, key)
    return ctx


def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> dict[str, str]:
    """Runs one connection; "server"/"client": "ok" or the error text, "peer": client's CN."""
    outcome: dict[str, str] = {}
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                peer = tls.getpeercert()
                outcome["peer"] = str(dict(x[0] for x in peer["subject"])["commonName"])
                tls.sendall(b"ok")
                outcome["server"] = "ok"
        except (ssl.SSLError, OSError) as exc:
            outcome["server"] = str(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="www.example.com") as tls:
            # With TLS 1.3 the server judges the client certificate after the client's
            # handshake returns: the verdict arrives with the first read.
            outcome["client"] = "ok" if tls.recv(2) == b"ok" else "no data"
    except (ssl.SSLError, OSError) as exc:
        outcome["client"] = str(exc)
    thread.join(10)
    listener.close()
    return outcome


def test_handshake_with_the_client_certificate(key_set: CertSet, tmp_path: Path) -> None:
    server = _server_context(key_set, tmp_path)
    client = _client_context(key_set.ca, key_set.client, tmp_path)
    assert handshake(server, client) == {"server": "ok", "client": "ok", "peer": "client-1"}


def test_handshake_refuses_a_client_certificate_of_another_ca(
        p256: CertSet, other_ca_set: CertSet, tmp_path: Path) -> None:
    server = _server_context(p256, tmp_path)
    client = _client_context(p256.ca, other_ca_set.client, tmp_path)
    outcome = handshake(server, client)
    assert "certificate verify failed" in outcome["server"]
    assert outcome["client"] != "ok" and "peer" not in outcome


def test_handshake_refuses_a_server_certificate_as_client_certificate(
        p256: CertSet, tmp_path: Path) -> None:
    server = _server_context(p256, tmp_path)
    # Signed by the right CA, but for serverAuth only.
    server_only = generate_certificate(server_spec(cn="rogue.example.com"), p256.ca)
    client = _client_context(p256.ca, server_only, tmp_path)
    outcome = handshake(server, client)
    assert "unsuitable certificate purpose" in outcome["server"]
    assert outcome["client"] != "ok" and "peer" not in outcome


def test_handshake_refuses_no_client_certificate(p256: CertSet, tmp_path: Path) -> None:
    server = _server_context(p256, tmp_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=p256.ca.certificate_pem)
    outcome = handshake(server, client)
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in outcome["server"]
    assert outcome["client"] != "ok"
