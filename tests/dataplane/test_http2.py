"""HTTP/2 by ALPN and served: a domain with Http2 on negotiates h2 in a real handshake and
answers HTTP/2 requests through the same forwarding as HTTP/1.1 (curl --http2, and an h2
client that opens two streams at once, one with a body); a client offering only http/1.1 is
still served; without Http2 only http/1.1 is offered."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from mtlsform.emulator.dataplane import Timeouts
from mtlsform.emulator.dataplane import h2 as gateway
from tests.dataplane.pki import policy
from tests.dataplane.support import CURL, DOMAIN, client_context, curl


def alpn(host: str, port: int, ca_pem: str, files) -> str | None:
    context = client_context(ca_pem, files)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        return tls.selected_alpn_protocol()


class H2Client:
    """A real HTTP/2 client connection (TLS with ALPN h2, the h2 library's framing)."""

    def __init__(self, host: str, port: int, ca_pem: str, files) -> None:
        context = client_context(ca_pem, files)
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection((host, port), timeout=10)
        self.tls = context.wrap_socket(raw, server_hostname=DOMAIN)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
        self.conn.increment_flow_control_window(2**30)
        self.next_stream = 1
        self.terminated = False

    def send(self, requests: list[tuple[str, str, bytes]], *, headers=(),
             reset_at_once: bool = False) -> list[int]:
        """(method, path, body) requests on new streams, sent together; with `reset_at_once`
        each is reset right after it is sent (in the same write)."""
        streams = []
        for method, path, body in requests:
            stream, self.next_stream = self.next_stream, self.next_stream + 2
            streams.append(stream)
            self.conn.send_headers(stream, [(":method", method), (":path", path),
                                            (":scheme", "https"), (":authority", DOMAIN),
                                            *headers], end_stream=not body)
            for at in range(0, len(body), 16384):  # the default frame size, within the window
                self.conn.send_data(stream, body[at:at + 16384],
                                    end_stream=at + 16384 >= len(body))
            if reset_at_once:
                self.conn.reset_stream(stream)
        self.tls.sendall(self.conn.data_to_send())
        return streams

    def answers(self, streams: list[int]) -> dict[int, tuple[dict, bytes]]:
        """Reads until every stream in `streams` has ended (answered or reset)."""
        answers: dict[int, tuple[dict, bytearray]] = {}
        ended: set[int] = set()
        while not set(streams) <= ended:
            data = self.tls.recv(65536)
            assert data, "the server closed before answering every stream"
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    answers[event.stream_id] = (dict(event.headers), bytearray())
                elif isinstance(event, h2.events.DataReceived):
                    answers[event.stream_id][1].extend(event.data)
                    self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                        event.stream_id)
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    ended.add(event.stream_id)
            self.tls.sendall(self.conn.data_to_send())
        return {stream: (headers, bytes(body)) for stream, (headers, body) in answers.items()}

    def closed_by_server(self) -> bool:
        """Whether the server ends the connection (GOAWAY or close) within the timeout."""
        self.tls.settimeout(5)
        while True:
            try:
                data = self.tls.recv(65536)
            except TimeoutError:
                return False
            except (ssl.SSLError, OSError):
                return True
            if not data:
                return True
            if any(isinstance(e, h2.events.ConnectionTerminated)
                   for e in self.conn.receive_data(data)):
                return True

    def close(self) -> None:
        self.tls.close()


def h2_requests(host: str, port: int, ca_pem: str, files,
                requests: list[tuple[str, str, bytes]]) -> dict[int, tuple[dict, bytes]]:
    """(method, path, body) requests on streams 1, 3, ..., all sent before any answer is read."""
    client = H2Client(host, port, ca_pem, files)
    try:
        return client.answers(client.send(requests))
    finally:
        client.close()


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


def test_a_reset_stream_odd_header_bytes_and_expect_do_not_end_the_connection(
        site, pki, start_plane):
    plane = start_plane(site.config(dataclasses.replace(policy(pki.server, pki.ca),
                                                        http2=True)))
    endpoint = plane.endpoint("lbl-main")
    client = H2Client(endpoint.host, endpoint.bound_port, pki.ca.cert_pem, pki.files("client"))
    try:
        # a request the client resets in the same write as it sends it: nothing to answer
        client.send([("GET", "/gone", b"")], reset_at_once=True)
        # header values that are not ASCII (UTF-8 bytes, and a byte that is not UTF-8), and
        # an Expect: 100-continue the gateway must not pass on to an HTTP/1.1 target
        odd = client.send([("GET", "/utf8", b"")], headers=[("x-name", "日本")])
        client.conn.send_headers(client.next_stream, [
            (b":method", b"GET"), (b":path", b"/latin1"), (b":scheme", b"https"),
            (b":authority", DOMAIN.encode()), (b"x-raw", b"caf\xe9")], end_stream=True)
        odd.append(client.next_stream)
        client.next_stream += 2
        client.tls.sendall(client.conn.data_to_send())
        expect = client.send([("POST", "/expect", b"body")],
                             headers=[("expect", "100-continue")])
        answers = client.answers([*odd, *expect])
        for stream in [*odd, *expect]:
            assert answers[stream][0][":status"] == "200", answers
        assert b"request: POST /expect" in answers[expect[0]][1]
        assert b"body_bytes: 4" in answers[expect[0]][1]
        # and the connection still serves
        again = client.send([("GET", "/again", b"")])
        assert client.answers(again)[again[0]][0][":status"] == "200"
    finally:
        client.close()


def test_a_tls_change_ends_an_idle_http2_connection(site, pki, start_plane):
    plane = start_plane(site.config(dataclasses.replace(policy(pki.server, pki.ca),
                                                        http2=True)))
    endpoint = plane.endpoint("lbl-main")
    client = H2Client(endpoint.host, endpoint.bound_port, pki.ca.cert_pem, pki.files("client"))
    try:
        first = client.send([("GET", "/", b"")])
        assert client.answers(first)[first[0]][0][":status"] == "200"
        # the client CA swapped: the connection, handshaken under the old one, is ended
        plane.update(site.config(dataclasses.replace(policy(pki.server, pki.other_ca),
                                                     http2=True)))
        assert client.closed_by_server()
    finally:
        client.close()


def test_an_answer_cut_off_or_announced_longer_cannot_be_sent_as_complete():
    full = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    assert gateway.response_parts(full, "GET")[1] == b"hello"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    assert gateway.response_parts(chunked, "GET")[1] == b"hello"
    informational = b"HTTP/1.1 100 Continue\r\n\r\n" + full
    headers, body = gateway.response_parts(informational, "POST")
    assert (headers[0], body) == ((":status", "200"), b"hello")
    for cut in (full[:-2], chunked[:-12], chunked[:-20], b"HTTP/1.1 200 OK\r\n"):
        with pytest.raises(gateway.Truncated):
            gateway.response_parts(cut, "GET")


def test_pings_alone_do_not_keep_an_http2_connection_open(site, pki, start_plane):
    short = Timeouts(client_header=0.5, client_body=0.5, keepalive=0.5)
    plane = start_plane(site.config(dataclasses.replace(policy(pki.server, pki.ca),
                                                        http2=True)), timeouts=short)
    endpoint = plane.endpoint("lbl-main")
    client = H2Client(endpoint.host, endpoint.bound_port, pki.ca.cert_pem, pki.files("client"))
    try:
        first = client.send([("GET", "/", b"")])
        assert client.answers(first)[first[0]][0][":status"] == "200"
        client.tls.settimeout(0.1)
        deadline = time.monotonic() + 3  # PINGs every 0.1 s, past the 0.5 s idle timeout
        while time.monotonic() < deadline:
            client.conn.ping(b"12345678")
            try:
                client.tls.sendall(client.conn.data_to_send())
                data = client.tls.recv(65536)
            except TimeoutError:
                continue
            except (ssl.SSLError, OSError):
                break
            if not data or any(isinstance(e, h2.events.ConnectionTerminated)
                               for e in client.conn.receive_data(data)):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the connection was still open after 3 s of PINGs")
    finally:
        client.close()
