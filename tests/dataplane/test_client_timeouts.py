"""Clients that stall: a body or a head that never ends gets 408 and frees the target's slot
(nginx's client_body_timeout and client_header_timeout); an idle connection is closed."""

from __future__ import annotations

import socket

from mtlsform.emulator.dataplane import (
    DataPlaneConfig,
    HealthCheckConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    Timeouts,
)
from tests.dataplane.pki import policy
from tests.dataplane.recorder import Recorder
from tests.dataplane.support import DOMAIN, client_context, eventually, new_address

SHORT = Timeouts(client_header=0.5, client_body=0.5, keepalive=0.5)


def least_conn(vip: str, recorders: list[Recorder], tls) -> DataPlaneConfig:
    targets = tuple(TargetConfig(f"ins-rec{n}", r.address, r.port, 10)
                    for n, r in enumerate(recorders))
    route = RouteConfig("loc-main", (DOMAIN,), "/", scheduler="LEAST_CONN", targets=targets,
                        health_check=HealthCheckConfig(enabled=False))
    listener = ListenerConfig("lbl-main", "lb-main", vip, 443, protocol="HTTPS", tls=tls,
                              routes=(route,))
    return DataPlaneConfig(listeners=(listener,))


def send(endpoint, context, payload: bytes) -> bytes:
    """Sends `payload`, then reads until the data plane closes the connection."""
    with socket.create_connection((endpoint.host, endpoint.bound_port), timeout=15) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        tls.sendall(payload)
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
        return received


GET = f"GET / HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode()


def test_a_body_that_never_arrives_gets_408_and_frees_the_least_conn_slot(site, pki,
                                                                            start_plane):
    recorders = [Recorder(new_address(91)), Recorder(new_address(91))]
    try:
        plane = start_plane(least_conn(site.vip, recorders, policy(pki.server, pki.ca)),
                            timeouts=SHORT)
        endpoint = plane.endpoint("lbl-main")
        context = client_context(pki.ca.cert_pem, pki.files("client"))
        stalled = (f"POST / HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: 10\r\n\r\nabc"
                   .encode())
        answer = send(endpoint, context, stalled)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        eventually(lambda: sum(len(r.received) for r in recorders) == 1)
        held = next(r for r in recorders if r.received)
        assert held.received[0].endswith(b"Content-Length: 10\r\nConnection: close\r\n\r\nabc")
        for _ in range(4):
            assert send(endpoint, context, GET).startswith(b"HTTP/1.1 200 OK\r\n")
        # A leaked slot would leave `held` one connection ahead: LEAST_CONN would never pick it.
        assert [len(r.received) for r in recorders].count(3) == 1
        assert len(held.received) == 3
    finally:
        for recorder in recorders:
            recorder.close()


def test_a_head_that_never_ends_gets_408_and_an_idle_connection_is_closed(site, pki,
                                                                           start_plane):
    recorder = Recorder(new_address(91))
    try:
        plane = start_plane(least_conn(site.vip, [recorder], policy(pki.server, pki.ca)),
                            timeouts=SHORT)
        endpoint = plane.endpoint("lbl-main")
        context = client_context(pki.ca.cert_pem, pki.files("client"))
        answer = send(endpoint, context, f"GET / HTTP/1.1\r\nHost: {DOMAIN}\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert send(endpoint, context, b"") == b""  # nothing sent: closed, no answer
        assert recorder.connections == 0
        assert send(endpoint, context, GET).startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        recorder.close()
