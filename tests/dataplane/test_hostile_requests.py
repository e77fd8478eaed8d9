"""Every case of tests/dataplane/requests/ through the real data plane, over real mTLS, to a
backend that records the raw bytes it receives (the folder's README.md has the format)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes

from mtlsform.emulator.dataplane import (
    DataPlaneConfig,
    HealthCheckConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
)
from tests.dataplane.pki import Issued, policy
from tests.dataplane.recorder import Recorder
from tests.dataplane.support import DOMAIN, client_context, eventually, new_address

CASES = Path(__file__).parent / "requests"
CASE_FILES = sorted(CASES.glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(case) <= {"why", "send", "responses", "backend"}, path.name
    assert isinstance(case["send"], str) and isinstance(case["responses"], list)
    return case


def recorder_config(vip: str, recorder: Recorder, tls) -> DataPlaneConfig:
    route = RouteConfig("loc-main", (DOMAIN,), "/", health_check=HealthCheckConfig(enabled=False),
                        targets=(TargetConfig("ins-rec", recorder.address, recorder.port, 10),))
    listener = ListenerConfig("lbl-main", "lb-main", vip, 443, protocol="HTTPS", tls=tls,
                              routes=(route,))
    return DataPlaneConfig(listeners=(listener,))


def cert_headers(client: Issued) -> str:
    cert = client.cert
    return "".join(f"{name}: {value}\r\n" for name, value in [
        ("X-Client-Verify", "SUCCESS"),
        ("X-Client-Cert-Subject", cert.subject.rfc4514_string()),
        ("X-Client-Cert-Issuer", cert.issuer.rfc4514_string()),
        ("X-Client-Cert-Serial", format(cert.serial_number, "x")),
        ("X-Client-Cert-Fingerprint", cert.fingerprint(hashes.SHA256()).hex()),
        ("X-Client-Cert-Not-After", cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ])


def status_lines(data: bytes) -> list[str]:
    """The status lines of the responses in `data` (each framed by Content-Length or none)."""
    found = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        assert sep, f"a truncated response: {head!r}"
        lines = head.decode("latin-1").split("\r\n")
        found.append(lines[0])
        length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith("content-length:")), 0)
        data = data[length:]
    return found


def exchange(address: str, port: int, context, payload: bytes) -> bytes:
    with socket.create_connection((address, port), timeout=15) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        tls.sendall(payload)
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
        return received


def test_the_folder_holds_every_kind_of_case():
    assert len(CASE_FILES) >= 30
    cases = [load(path) for path in CASE_FILES]
    assert any(case["backend"] for case in cases)
    assert any(not case["backend"] for case in cases)


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_hostile_request(path, site, pki, start_plane):
    case = load(path)
    recorder = Recorder(new_address(91))
    try:
        plane = start_plane(recorder_config(site.vip, recorder, policy(pki.server, pki.ca)))
        endpoint = plane.endpoint("lbl-main")
        context = client_context(pki.ca.cert_pem, pki.files("client"))
        received = exchange(endpoint.host, endpoint.bound_port, context,
                            case["send"].encode("latin-1"))
        assert status_lines(received) == case["responses"]
        expected = [item.replace("{cert}", cert_headers(pki.client)).replace("{ip}", "127.0.0.1")
                    .encode("latin-1") for item in case["backend"]]
        # the backend may still be reading a refused request's beginning (the target closes)
        eventually(lambda: len(recorder.received) >= len(expected))
        assert recorder.received == expected
    finally:
        recorder.close()
