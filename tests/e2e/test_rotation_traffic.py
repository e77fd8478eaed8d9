"""A server certificate rotated while a client sends requests without pause, through the data
plane of `mtlsform emulator serve` (issue 11, rotation): no request fails, the new certificate
is presented afterwards, and the old upload is deleted only after the listener (SNI off) or
the domain (SNI on) moved off it. Each request is a new TCP connection and a full mutual-TLS
handshake, with the client certificate, verifying the server."""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from dataclasses import dataclass, field

import pytest

from mtlsform.cli.main import run
from mtlsform.emulator import environment
from tests.e2e.cloud import state_attributes
from tests.e2e.conftest import free_offset
from tests.engine.every_call import ROTATE_SNI_OFF, ROTATE_SNI_ON

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Entry:
    stack: str  # under stacks/
    name: str  # the stack's name
    lb: str  # the load balancer's address
    domain: str
    client: tuple[str, str]  # certificate and key, under stacks/out/
    server: str  # the rotated certificate's name
    edit: tuple[str, str]
    switch: str  # the call that moves the entry to the new upload
    demo: tuple[tuple[str, int], ...]


ENTRIES = {
    "sni-off": Entry("example.yaml", "example", "load_balancer.web", "www.example.com",
                     ("client-1/client.crt", "client-1/client.key"), "server", ROTATE_SNI_OFF,
                     "ModifyListener", (("127.32.0.1", 80), ("127.32.0.2", 80))),
    "sni-on": Entry("sni.yaml", "sni", "load_balancer.edge", "api.example.com",
                    ("api-client-1/api-client.crt", "api-client-1/api-client.key"), "api",
                    ROTATE_SNI_ON, "ModifyDomainAttributes",
                    (("127.32.0.1", 80), ("127.32.0.1", 8080), ("127.32.0.2", 8080))),
}


@dataclass
class Traffic:
    """Requests without pause until stopped: each one's outcome and the server's leaf."""

    address: tuple[str, int]
    domain: str
    context: ssl.SSLContext
    outcomes: list[tuple[bool, str]] = field(default_factory=list)  # (ok, fingerprint or why)
    stop: threading.Event = field(default_factory=threading.Event)

    def one(self) -> tuple[bool, str]:
        try:
            with socket.create_connection(self.address, timeout=10) as raw, \
                    self.context.wrap_socket(raw, server_hostname=self.domain) as tls:
                leaf = tls.getpeercert(binary_form=True) or b""
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {self.domain}\r\n"
                            "Connection: close\r\n\r\n".encode())
                answer = b""
                while chunk := tls.recv(65536):
                    answer += chunk
        except (OSError, ssl.SSLError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if not answer.startswith(b"HTTP/1.1 200 "):
            return False, answer[:80].decode(errors="replace")
        return True, hashlib.sha256(leaf).hexdigest()

    def run(self) -> None:
        while not self.stop.is_set():
            self.outcomes.append(self.one())


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_rotation_under_continuous_traffic_fails_no_request(name, stacks, environ, serve,
                                                             capsys, tmp_path, monkeypatch):
    entry = ENTRIES[name]
    stack = stacks / entry.stack
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    vip = state_attributes(stacks, entry.name, entry.lb)["vip"]
    server_ca = tmp_path / "server-ca.crt"
    server_ca.write_text(state_attributes(stacks, entry.name, "certificate.ca")["certificate_pem"])
    old = state_attributes(stacks, entry.name, f"certificate.{entry.server}")["fingerprint"]
    old_upload = state_attributes(stacks, entry.name, f"ssl_certificate.{entry.server}")["id"]

    calls = tmp_path / "calls.log"
    environ[environment.CALL_LOG] = str(calls)  # the serving emulator logs what landed
    offset = free_offset([(vip, 443), *entry.demo])
    serve(stacks / ".mtlsform" / "emulator", offset, (vip, 443 + offset))
    context = ssl.create_default_context(cafile=str(server_ca))
    out = stacks / "out"
    context.load_cert_chain(out / entry.client[0], out / entry.client[1])
    traffic = Traffic((vip, 443 + offset), entry.domain, context)
    assert traffic.one() == (True, old)

    sender = threading.Thread(target=traffic.run, daemon=True)
    sender.start()
    try:
        text = stack.read_text()
        assert entry.edit[0] in text
        stack.write_text(text.replace(*entry.edit))
        capsys.readouterr()
        code = run(["apply", str(stack), "--auto-approve"])
        applied = capsys.readouterr().err
        assert code == 0, applied
        assert "Using the emulator that already serves this world" in applied
        during = len(traffic.outcomes)
        while len(traffic.outcomes) < during + 20:  # and some more after it
            if not sender.is_alive():
                break
            traffic.stop.wait(0.01)
    finally:
        traffic.stop.set()
        sender.join(timeout=30)

    new = state_attributes(stacks, entry.name, f"certificate.{entry.server}")["fingerprint"]
    assert new != old
    failed = [why for ok, why in traffic.outcomes if not ok]
    assert not failed, f"{len(failed)} of {len(traffic.outcomes)} requests failed: {failed[:5]}"
    presented = [why for _, why in traffic.outcomes]
    assert during > 5, f"too few requests overlapped the rotation: {during}"
    assert presented[0] == old and set(presented[-20:]) == {new}  # the new one afterwards
    assert set(presented) == {old, new}
    # the old upload was deleted, and only after the entry had moved off it
    landed = [line.split(" ", 1)[1] for line in calls.read_text().splitlines()]
    assert landed == ["UploadCertificate", entry.switch, "DeleteCertificate"], landed
    assert old_upload not in state_attributes(stacks, entry.name,
                                              f"ssl_certificate.{entry.server}")["id"]
