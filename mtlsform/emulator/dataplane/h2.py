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

Limits: 16 concurrent streams; a request body over 8 MiB is answered 413 as soon as it passes
the limit (the rest is not kept); a stream whose answer cannot be given honestly (a target
that failed mid-answer, an answer over 64 MiB or not complete within 120 s) is reset with
INTERNAL_ERROR, and the connection's other streams go on. A TLS change (certificate, client
CA) closes the connection with GOAWAY after the streams being served, as HTTP/1.1 connections
are closed after their current request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes

from mtlsform.emulator.dataplane.bodies import body_framing
from mtlsform.emulator.dataplane.http1 import Head, HttpError, parse_head, simple_response

logger = logging.getLogger("mtlsform.emulator.dataplane")

H2 = "h2"
HTTP11 = "http/1.1"
MAX_BODY = 8 * 1024 * 1024  # a request body larger than this is refused (413)
MAX_ANSWER = 64 * 1024 * 1024  # an answer larger than this resets its stream
ANSWER_TIMEOUT = 120.0  # a whole answer, from forwarding to its last byte collected
MAX_STREAMS = 16  # concurrent streams a client may open (SETTINGS_MAX_CONCURRENT_STREAMS)
# RFC 9113 §8.2.2: headers an HTTP/2 message never carries; `expect` is HTTP/1.1's (the
# gateway has the whole body before it forwards).
CONNECTION_SPECIFIC = frozenset({"connection", "keep-alive", "proxy-connection",
                                 "transfer-encoding", "upgrade"})
NOT_FORWARDED = CONNECTION_SPECIFIC | {"content-length", "expect"}

# Serves one HTTP/1.1 request (its head, and a reader holding its body) into a writer.
Exchange = Callable[[Head, asyncio.StreamReader, "Collected"], Awaitable[bool]]


class AnswerTooLarge(Exception):
    pass


class Collected:
    """The StreamWriter subset the forwarding uses, collecting the HTTP/1.1 answer."""

    def __init__(self, limit: int = MAX_ANSWER) -> None:
        self.data = bytearray()
        self.limit = limit

    def write(self, data: bytes) -> None:
        if len(self.data) + len(data) > self.limit:
            raise AnswerTooLarge(f"the answer is over {self.limit} bytes")
        self.data += data

    async def drain(self) -> None:
        return None


def request_head(headers: list[tuple[str, str]], body_length: int) -> Head:
    """The HTTP/1.1 head of an HTTP/2 request's headers (pseudo-headers first, RFC 9113 §8.3).
    Names and values are Latin-1 text of the bytes received, as HTTP/1.1 heads are read."""
    pseudo = {name: value for name, value in headers if name.startswith(":")}
    method, path = pseudo.get(":method", "GET"), pseudo.get(":path", "/")
    if method == "CONNECT" or not path.startswith(("/", "*")):
        raise HttpError(400, "only origin-form requests are served over HTTP/2")
    lines = [f"{method} {path} HTTP/1.1"]
    authority = pseudo.get(":authority")
    named = [(n, v) for n, v in headers if not n.startswith(":") and n not in NOT_FORWARDED]
    if authority and not any(n == "host" for n, _ in named):
        lines.append(f"Host: {authority}")
    lines += [f"{n}: {v}" for n, v in named]
    if body_length or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {body_length}")
    return parse_head(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


class Truncated(Exception):
    """The answer ended before the body its head announced."""


def response_parts(raw: bytes, method: str) -> tuple[list[tuple[str, str]], bytes]:
    """An HTTP/1.1 answer as HTTP/2 headers (`:status` first) and its body (chunks joined);
    informational heads before it are dropped. Raises Truncated for a cut-off answer."""
    while True:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            raise Truncated("no complete answer head")
        head = parse_head(raw[:end + 4], response=True)
        raw = raw[end + 4:]
        if head.status >= 200:
            break
    kind, length = body_framing(head, request_method=method)
    if kind == "length":
        if len(raw) < length:
            raise Truncated(f"{len(raw)} of {length} bytes")
        body = raw[:length]
    elif kind == "chunked":
        body = _unchunked(raw)
    else:
        body = b"" if kind == "none" else raw
    headers = [(":status", str(head.status))] + [
        (name.lower(), value) for name, value in head.headers
        if name.lower() not in CONNECTION_SPECIFIC]
    return headers, body


def _unchunked(data: bytes) -> bytes:
    body, at = bytearray(), 0
    try:
        while True:
            line_end = data.index(b"\r\n", at)
            size = int(data[at:line_end].split(b";", 1)[0], 16)
            if size == 0:
                return bytes(body)
            if line_end + 2 + size > len(data):
                raise Truncated("a chunk is cut off")
            body += data[line_end + 2:line_end + 2 + size]
            at = line_end + 2 + size + 2
    except ValueError as exc:  # no line end, or a size that is not hexadecimal
        raise Truncated(str(exc)) from exc


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class Http2Server:
    """One client connection that negotiated h2.

    `current()` says whether the connection's TLS settings still hold: once they do not
    (a certificate or client CA changed), the streams being served are answered and the
    connection is closed with GOAWAY, so that the client handshakes again. While it waits
    for a client with nothing to answer, its writer is in `idle` (the listener closes those
    at once on such a change)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 exchange: Exchange, *, idle_timeout: float,
                 current: Callable[[], bool] = lambda: True,
                 idle: set[asyncio.StreamWriter] | None = None) -> None:
        self.reader, self.writer = reader, writer
        self.exchange = exchange
        self.idle_timeout = idle_timeout
        self.current = current
        self.idle = idle if idle is not None else set()
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        self.requests: dict[int, tuple[list[tuple[str, str]], bytearray]] = {}
        self.too_large: set[int] = set()
        self.ready: list[int] = []  # complete requests, in order
        self.pending: dict[int, bytes] = {}  # answer bytes still waiting for window
        self.served = 0
        self.active_at = 0.0

    async def serve(self) -> int:
        """Serves streams until the client goes away; the number of requests answered."""
        self.conn.initiate_connection()
        self.conn.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS})
        await self._send()
        loop = asyncio.get_running_loop()
        # Idle means no request activity: frames such as PING or SETTINGS alone do not keep
        # a connection open past the idle timeout.
        self.active_at = loop.time()
        while self.served == 0 or self.current():
            waiting = not self.ready and not self.pending and not self.requests
            if waiting:
                self.idle.add(self.writer)
            left = self.active_at + self.idle_timeout - loop.time()
            try:
                if left <= 0:
                    break
                async with asyncio.timeout(left):
                    data = await self.reader.read(65536)
            except TimeoutError:
                break
            finally:
                self.idle.discard(self.writer)
            if not data:
                break
            try:
                events = self.conn.receive_data(data)
            except (H2Error, ValueError):  # a protocol error: h2 has queued its GOAWAY
                await self._send()
                return self.served
            if not self._handle(events):
                break
            while self.ready:
                stream = self.ready.pop(0)
                if stream in self.requests:  # not reset by the client meanwhile
                    await self._answer(stream)
                    self.active_at = loop.time()
            self._flush()
            await self._send()
        for stream in list(self.pending):  # a client that never opened the window
            with contextlib.suppress(H2Error):
                self.conn.reset_stream(stream, ErrorCodes.CANCEL)
        with contextlib.suppress(H2Error):
            self.conn.close_connection()
        with contextlib.suppress(OSError):
            await self._send()
        return self.served

    def _handle(self, events: Sequence[object]) -> bool:
        for event in events:
            if isinstance(event, RequestReceived | DataReceived | StreamEnded):
                self.active_at = asyncio.get_running_loop().time()
            if isinstance(event, RequestReceived):
                headers = [(_text(n), _text(v)) for n, v in event.headers or ()]
                self.requests[event.stream_id or 0] = (headers, bytearray())
            elif isinstance(event, DataReceived):
                stream = event.stream_id or 0
                self.conn.acknowledge_received_data(event.flow_controlled_length or 0,
                                                    stream)
                if stream in self.requests and stream not in self.too_large:
                    body = self.requests[stream][1]
                    body.extend(event.data or b"")
                    if len(body) > MAX_BODY:  # answered now; the rest is not kept
                        self.too_large.add(stream)
                        body.clear()
                        self._refuse_body(stream)
            elif isinstance(event, StreamEnded) and event.stream_id in self.requests:
                if event.stream_id in self.too_large:
                    self._forget(event.stream_id or 0)
                else:
                    self.ready.append(event.stream_id or 0)
            elif isinstance(event, StreamReset):
                self._forget(event.stream_id or 0)
            elif isinstance(event, ConnectionTerminated):
                return False
        return True

    def _forget(self, stream: int) -> None:
        self.requests.pop(stream, None)
        self.pending.pop(stream, None)
        self.too_large.discard(stream)

    def _refuse_body(self, stream: int) -> None:
        """413 before the body has all arrived, then the stream reset (RFC 9113 §8.1)."""
        answer = simple_response(413, "the request body is too large", keep_alive=False)
        headers, body = response_parts(answer, "POST")
        self.conn.send_headers(stream, headers)
        self.conn.send_data(stream, body, end_stream=True)
        with contextlib.suppress(H2Error):
            self.conn.reset_stream(stream, ErrorCodes.NO_ERROR)
        self.served += 1

    async def _answer(self, stream: int) -> None:
        headers, body = self.requests.pop(stream)
        method = next((v for n, v in headers if n == ":method"), "GET")
        try:
            try:
                head = request_head(headers, len(body))
                reader = asyncio.StreamReader()
                reader.feed_data(bytes(body))
                reader.feed_eof()
                collected = Collected()
                async with asyncio.timeout(ANSWER_TIMEOUT):
                    await self.exchange(head, reader, collected)
                raw = bytes(collected.data)
            except HttpError as exc:
                raw = simple_response(exc.status, exc.message, keep_alive=False)
            answer_headers, answer_body = response_parts(raw, method)
        except (Truncated, AnswerTooLarge, TimeoutError, HttpError, ValueError,
                OSError) as exc:
            # Nothing honest to answer on this stream (a target that failed mid-answer):
            # reset it; the connection and its other streams go on.
            logger.info("HTTP/2 stream %d reset: %s", stream, exc)
            with contextlib.suppress(H2Error):
                self.conn.reset_stream(stream, ErrorCodes.INTERNAL_ERROR)
            return
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
