"""HTTP/2 on a domain with Http2 on: negotiated by ALPN and served, as CLB does, by translating
each stream to HTTP/1.1 towards the backends.

The data plane offers `h2` (before `http/1.1`) in ALPN on listeners and domains whose rules
have Http2 on. A connection that negotiated it speaks HTTP/2 (RFC 9113; framing, HPACK and flow
control by the `h2` library): each request stream, once complete, becomes an HTTP/1.1 request
(`:method`, `:path`, `:authority` as `Host`, its headers and body) served by the same
forwarding as HTTP/1.1 clients get (routing, redirects, balancing, the `X-Client-*` headers),
and the HTTP/1.1 answer goes back on the stream as HEADERS and DATA, without its
connection-specific headers. Streams are served one after another; a client that opens streams
while one is served has them served in turn. The backends always get HTTP/1.1: a gRPC backend
(which needs HTTP/2 end to end) is not served.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import ProtocolError

from mtlsform.emulator.dataplane.bodies import body_framing
from mtlsform.emulator.dataplane.http1 import Head, HttpError, parse_head, simple_response

H2 = "h2"
HTTP11 = "http/1.1"
MAX_BODY = 8 * 1024 * 1024  # a request body larger than this is refused (413)
# RFC 9113 §8.2.2: headers an HTTP/2 message never carries.
CONNECTION_SPECIFIC = frozenset({"connection", "keep-alive", "proxy-connection",
                                 "transfer-encoding", "upgrade"})

# Serves one HTTP/1.1 request (its head, and a reader holding its body) into a writer.
Exchange = Callable[[Head, asyncio.StreamReader, "Collected"], Awaitable[bool]]


class Collected:
    """The StreamWriter subset the forwarding uses, collecting the HTTP/1.1 answer."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


def request_head(headers: list[tuple[str, str]], body_length: int) -> Head:
    """The HTTP/1.1 head of an HTTP/2 request's headers (pseudo-headers first, RFC 9113 §8.3)."""
    pseudo = {name: value for name, value in headers if name.startswith(":")}
    method, path = pseudo.get(":method", "GET"), pseudo.get(":path", "/")
    if method == "CONNECT" or not path.startswith(("/", "*")):
        raise HttpError(400, "only origin-form requests are served over HTTP/2")
    lines = [f"{method} {path} HTTP/1.1"]
    authority = pseudo.get(":authority")
    named = [(n, v) for n, v in headers if not n.startswith(":")
             and n not in CONNECTION_SPECIFIC and n != "content-length"]
    if authority and not any(n == "host" for n, _ in named):
        lines.append(f"Host: {authority}")
    lines += [f"{n}: {v}" for n, v in named]
    if body_length or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {body_length}")
    return parse_head(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def response_parts(raw: bytes, method: str) -> tuple[list[tuple[str, str]], bytes]:
    """An HTTP/1.1 answer as HTTP/2 headers (`:status` first) and its body (chunks joined)."""
    end = raw.index(b"\r\n\r\n") + 4
    head = parse_head(raw[:end], response=True)
    rest = raw[end:]
    kind, length = body_framing(head, request_method=method)
    if kind == "length":
        body = rest[:length]
    elif kind == "chunked":
        body = _unchunked(rest)
    else:
        body = b"" if kind == "none" else rest
    headers = [(":status", str(head.status))] + [
        (name.lower(), value) for name, value in head.headers
        if name.lower() not in CONNECTION_SPECIFIC]
    return headers, body


def _unchunked(data: bytes) -> bytes:
    body, at = bytearray(), 0
    while True:
        line_end = data.index(b"\r\n", at)
        size = int(data[at:line_end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(body)
        body += data[line_end + 2:line_end + 2 + size]
        at = line_end + 2 + size + 2


class Http2Server:
    """One client connection that negotiated h2."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 exchange: Exchange, *, idle_timeout: float) -> None:
        self.reader, self.writer = reader, writer
        self.exchange = exchange
        self.idle_timeout = idle_timeout
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.requests: dict[int, tuple[list[tuple[str, str]], bytearray]] = {}
        self.ready: list[int] = []  # complete requests, in order
        self.pending: dict[int, bytes] = {}  # answer bytes still waiting for window
        self.served = 0

    async def serve(self) -> int:
        """Serves streams until the client goes away; the number of requests answered."""
        self.conn.initiate_connection()
        await self._send()
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout):
                    data = await self.reader.read(65536)
            except TimeoutError:
                break
            if not data:
                break
            try:
                events = self.conn.receive_data(data)
            except ProtocolError:
                await self._send()
                break
            if not self._handle(events):
                break
            while self.ready:
                await self._answer(self.ready.pop(0))
            self._flush()
            await self._send()
        with contextlib.suppress(ProtocolError):
            self.conn.close_connection()
        with contextlib.suppress(OSError):
            await self._send()
        return self.served

    def _handle(self, events: Sequence[object]) -> bool:
        for event in events:
            if isinstance(event, RequestReceived):
                headers = [(str(n), str(v)) for n, v in event.headers or ()]
                self.requests[event.stream_id or 0] = (headers, bytearray())
            elif isinstance(event, DataReceived):
                stream = event.stream_id or 0
                if stream in self.requests:
                    body = self.requests[stream][1]
                    if len(body) <= MAX_BODY:  # past it only the 413 matters: stop keeping it
                        body.extend(event.data or b"")
                self.conn.acknowledge_received_data(event.flow_controlled_length or 0,
                                                    stream)
            elif isinstance(event, StreamEnded) and event.stream_id in self.requests:
                self.ready.append(event.stream_id or 0)
            elif isinstance(event, StreamReset):
                self.requests.pop(event.stream_id or 0, None)
                self.pending.pop(event.stream_id or 0, None)
            elif isinstance(event, ConnectionTerminated):
                return False
            elif isinstance(event, WindowUpdated):
                pass  # _flush sends what the wider window allows
        return True

    async def _answer(self, stream: int) -> None:
        headers, body = self.requests.pop(stream)
        method = next((v for n, v in headers if n == ":method"), "GET")
        try:
            if len(body) > MAX_BODY:
                raise HttpError(413, "the request body is too large")
            head = request_head(headers, len(body))
            reader = asyncio.StreamReader()
            reader.feed_data(bytes(body))
            reader.feed_eof()
            collected = Collected()
            await self.exchange(head, reader, collected)
            raw = bytes(collected.data)
        except HttpError as exc:
            raw = simple_response(exc.status, exc.message, keep_alive=False)
        answer_headers, answer_body = response_parts(raw, method)
        if method == "HEAD":
            answer_body = b""
        self.conn.send_headers(stream, answer_headers, end_stream=not answer_body)
        if answer_body:
            self.pending[stream] = answer_body
        self.served += 1

    def _flush(self) -> None:
        """Sends the answers' bodies as far as the flow-control windows allow."""
        for stream, data in list(self.pending.items()):
            while data:
                window = min(self.conn.local_flow_control_window(stream),
                             self.conn.max_outbound_frame_size)
                if window <= 0:
                    break
                self.conn.send_data(stream, data[:window], end_stream=len(data) <= window)
                data = data[window:]
            if data:
                self.pending[stream] = data
            else:
                del self.pending[stream]

    async def _send(self) -> None:
        outgoing = self.conn.data_to_send()
        if outgoing:
            self.writer.write(outgoing)
            await self.writer.drain()
