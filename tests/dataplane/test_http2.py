"""HTTP/2 by ALPN and served: a domain with Http2 on negotiates h2 in a real handshake and
answers HTTP/2 requests through the same forwarding as HTTP/1.1 (curl --http2, and an h2
client that opens two streams at once, one with a body); a client offering only http/1.1 is
still served; without Http2 only http/1.1 is offered."""

from __future__ import annotations

import dataclasses
import socket
import subprocess

import h2.config
import h2.connection
import h2.events
import h2.settings

from mtlsform.emulator.dataplane import h2 as gateway
from tests.dataplane.pki import policy
from tests.dataplane.support import CURL, DOMAIN, client_context, curl


def alpn(host: str, port: int, ca_pem: str, files) -> str | None:
    context = client_context(ca_pem, files)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        return tls.selected_alpn_protocol()


def h2_requests(host: str, port: int, ca_pem: str, files,
                requests: list[tuple[str, str, bytes]]) -> dict[int, tuple[dict, bytes]]:
    """(method, path, body) requests on streams 1, 3, ..., all sent before any answer is read."""
    context = client_context(ca_pem, files)
    context.set_alpn_protocols(["h2"])
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    answers: dict[int, tuple[dict, bytearray]] = {}
    ended: set[int] = set()
    with socket.create_connection((host, port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
        conn.increment_flow_control_window(2**30)
        streams = []
        for number, (method, path, body) in enumerate(requests):
            stream = 2 * number + 1
            streams.append(stream)
            conn.send_headers(stream, [(":method", method), (":path", path),
                                       (":scheme", "https"), (":authority", DOMAIN)],
                              end_stream=not body)
            for at in range(0, len(body), 16384):  # the default frame size; within the window
                conn.send_data(stream, body[at:at + 16384], end_stream=at + 16384 >= len(body))
        tls.sendall(conn.data_to_send())
        while ended != set(streams):
            data = tls.recv(65536)
            assert data, "the server closed before answering every stream"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    answers[event.stream_id] = (dict(event.headers), bytearray())
                elif isinstance(event, h2.events.DataReceived):
                    answers[event.stream_id][1].extend(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length,
                                                   event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            tls.sendall(conn.data_to_send())
    return {stream: (headers, bytes(body)) for stream, (headers, body) in answers.items()}


def test_http2_is_negotiated_and_served_only_when_enabled(site, pki, start_plane):
    on = dataclasses.replace(policy(pki.server, pki.ca), http2=True)
    plane = start_plane(site.config(on))
    endpoint = plane.endpoint("lbl-main")
    assert alpn(endpoint.host, endpoint.bound_port, pki.ca.cert_pem,
                pki.files("client")) == "h2"

    # curl speaks HTTP/2 to it and a backend answers
    answered = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                    cert_files=pki.files("client"),
                    extra=("--http2", "-i", "-w", "\nversion=%{http_version}"))
    assert answered.returncode == 0, answered.stderr
    lines = answered.stdout.splitlines()
    assert lines[0].strip() == "HTTP/2 200"
    assert lines[-1] == "version=2"
    assert {"rs-1", "rs-2"} & set(lines)
    assert not any(line.lower().startswith(("connection:", "keep-alive:")) for line in lines)

    # a body larger than the initial flow-control window (64 KiB), and a second request on the
    # same connection: the server opens the window as it reads, both are answered
    big = pki.folder / "big.bin"
    big.write_bytes(b"y" * 200_000)
    base = f"https://{DOMAIN}:{endpoint.bound_port}"
    common = [CURL, "-sS", "--max-time", "10", "--http2", "--cacert", str(pki.ca_file),
              "--cert", str(pki.files("client")[0]), "--key", str(pki.files("client")[1]),
              "--resolve", f"{DOMAIN}:{endpoint.bound_port}:{endpoint.host}",
              "-w", "connects=%{num_connects}\n"]
    answered = subprocess.run(
        [*common, "--data-binary", f"@{big}", f"{base}/upload",
         "--next", *common[1:], f"{base}/second"], capture_output=True, text=True, timeout=30)
    assert answered.returncode == 0, answered.stderr
    assert "body_bytes: 200000" in answered.stdout
    assert "request: POST /upload" in answered.stdout
    assert "request: GET /second" in answered.stdout
    # the second request reused the first one's connection
    assert [line for line in answered.stdout.splitlines() if line.startswith("connects=")] \
        == ["connects=1", "connects=0"]

    # two streams at once, one with a body: each answered on its own stream, routed as usual
    answers = h2_requests(endpoint.host, endpoint.bound_port, pki.ca.cert_pem,
                          pki.files("client"),
                          [("GET", "/first", b""), ("POST", "/second", b"hello over h2")])
    assert sorted(answers) == [1, 3]
    seen = {}
    for stream, (headers, body) in answers.items():
        assert headers[":status"] == "200"
        assert headers["x-backend-name"] in ("rs-1", "rs-2")
        name, *lines = body.decode().splitlines()
        assert name in ("rs-1", "rs-2")
        seen[stream] = dict(line.split(": ", 1) for line in lines if ": " in line)
    # the backends got HTTP/1.1 requests: method and path, Host from :authority, the body
    assert seen[1]["request"] == "GET /first" and seen[1]["body_bytes"] == "0"
    assert seen[3]["request"] == "POST /second" and seen[3]["body_bytes"] == "13"
    assert seen[1]["host"] == seen[3]["host"] == DOMAIN
    assert seen[3]["x-client-verify"] == "SUCCESS"

    # a client that offers only http/1.1 to the same domain is served over HTTP/1.1
    answered = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                    cert_files=pki.files("client"), extra=("--http1.1", "-i"))
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.splitlines()[0].startswith("HTTP/1.1 200")
    plane.stop()

    off = start_plane(site.config(policy(pki.server, pki.ca)))
    endpoint = off.endpoint("lbl-main")
    assert alpn(endpoint.host, endpoint.bound_port, pki.ca.cert_pem,
                pki.files("client")) == "http/1.1"
    answered = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                    cert_files=pki.files("client"), extra=("--http2", "-i"))
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.splitlines()[0].startswith("HTTP/1.1 200")


def test_an_http2_body_over_the_limit_gets_413_and_the_connection_goes_on(
        site, pki, start_plane, monkeypatch):
    monkeypatch.setattr(gateway, "MAX_BODY", 1000)
    plane = start_plane(site.config(dataclasses.replace(policy(pki.server, pki.ca),
                                                        http2=True)))
    endpoint = plane.endpoint("lbl-main")
    answers = h2_requests(endpoint.host, endpoint.bound_port, pki.ca.cert_pem,
                          pki.files("client"),
                          [("POST", "/big", b"x" * 60000), ("GET", "/after", b"")])
    assert answers[1][0][":status"] == "413"
    assert "x-backend-name" not in answers[1][0]
    assert answers[3][0][":status"] == "200"
