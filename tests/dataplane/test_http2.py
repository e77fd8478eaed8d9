"""HTTP/2 by ALPN: a domain with Http2 on negotiates h2 in a real handshake, then answers the
HTTP/2 preface and first request with RST_STREAM and GOAWAY HTTP_1_1_REQUIRED; a client
offering only http/1.1 is served. Without Http2 only http/1.1 is offered."""

from __future__ import annotations

import dataclasses
import socket
import struct

from tests.dataplane.pki import policy
from tests.dataplane.support import DOMAIN, client_context, curl

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def negotiate(host: str, port: int, ca_pem: str, files) -> tuple[str | None, bytes]:
    """ALPN offering h2 and http/1.1; with h2, the frames answering the preface."""
    context = client_context(ca_pem, files)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        chosen = tls.selected_alpn_protocol()
        if chosen != "h2":
            return chosen, b""
        headers = b"\x00\x00\x00\x01\x05\x00\x00\x00\x01"  # an empty HEADERS, stream 1
        tls.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + headers)
        received = b""
        while len(received) < 48:
            chunk = tls.recv(4096)
            if not chunk:
                break
            received += chunk
        return chosen, received


def test_http2_is_negotiated_only_when_enabled(site, pki, start_plane):
    on = dataclasses.replace(policy(pki.server, pki.ca), http2=True)
    plane = start_plane(site.config(on))
    endpoint = plane.endpoint("lbl-main")
    chosen, frames = negotiate(endpoint.host, endpoint.bound_port, pki.ca.cert_pem,
                               pki.files("client"))
    assert chosen == "h2"
    # the server's empty SETTINGS, the ACK of ours, then stream 1 refused with RST_STREAM and
    # GOAWAY (last stream 1), both HTTP_1_1_REQUIRED (0xd)
    assert frames[:9] == b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    assert frames[9:18] == b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
    assert frames[18:27] == b"\x00\x00\x04\x03\x00\x00\x00\x00\x01"
    assert struct.unpack(">I", frames[27:31]) == (0xD,)
    assert frames[31:40] == b"\x00\x00\x08\x07\x00\x00\x00\x00\x00"
    assert struct.unpack(">II", frames[40:48]) == (1, 0xD)
    # a client that offers only http/1.1 to the same domain is served
    answered = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                    cert_files=pki.files("client"), extra=("--http1.1",))
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.splitlines()[0] in ("rs-1", "rs-2")
    plane.stop()

    off = start_plane(site.config(policy(pki.server, pki.ca)))
    endpoint = off.endpoint("lbl-main")
    chosen, _ = negotiate(endpoint.host, endpoint.bound_port, pki.ca.cert_pem,
                          pki.files("client"))
    assert chosen == "http/1.1"
