"""Just enough HTTP/1.1 for a reverse proxy: message heads, body framing, relaying, replies.

Heads are parsed into `Head` values (start line + ordered header list). Bodies are never
buffered whole: `relay_body` copies a Content-Length or chunked body (verbatim, chunk framing
included) or everything up to EOF. Ambiguous framing that enables request smuggling (both
Content-Length and Transfer-Encoding, conflicting lengths, an unknown transfer coding) is
refused with 400/501 instead of guessed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024
COPY_CHUNK = 64 * 1024

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "proxy-authenticate", "proxy-authorization",
})

REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 404: "Not Found",
    408: "Request Timeout", 413: "Content Too Large", 421: "Misdirected Request",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


class WriteFailed(Exception):
    """The receiving side of a relay went away (so the reading side is not to blame)."""


class HttpError(Exception):
    """A malformed message: answer `status` (when we still can) and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Head:
    """A request or response head: the three start-line words and the headers in order."""

    start: tuple[str, str, str]
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of a header, lower-cased (e.g. Connection)."""
        found: set[str] = set()
        for value in self.get_all(name):
            found.update(token.strip().lower() for token in value.split(",") if token.strip())
        return found

    def without(self, names: set[str] | frozenset[str]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.headers if k.lower() not in names]

    # Request views
    @property
    def method(self) -> str:
        return self.start[0]

    @property
    def target(self) -> str:
        return self.start[1]

    # Response view
    @property
    def status(self) -> int:
        return int(self.start[1])


async def read_head(reader: asyncio.StreamReader, *, response: bool = False) -> Head | None:
    """Reads one head; None on a clean EOF before its first byte."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "connection closed in the middle of a message head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "message head too large") from None
    if len(raw) > MAX_HEAD:
        raise HttpError(431, "message head too large")
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable head") from None
    lines = text.split("\r\n")
    while lines and not lines[0]:
        lines.pop(0)  # tolerate stray CRLF between messages (RFC 9112 §2.2)
    if not lines:
        return None
    parts = lines[0].split(" ", 2)
    if len(parts) != 3 and not (response and len(parts) == 2):
        raise HttpError(400, f"malformed start line {lines[0][:80]!r}")
    if len(parts) == 2:
        parts.append("")
    start = (parts[0], parts[1], parts[2])
    if response:
        if not start[0].startswith("HTTP/1.") or not start[1].isdigit():
            raise HttpError(502, "malformed status line from the backend")
    elif not start[2].startswith("HTTP/1."):
        raise HttpError(400, "only HTTP/1.x is served")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise HttpError(400, "obsolete header line folding")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return Head(start, headers)


def request_version(head: Head) -> str:
    return head.start[2]


def body_framing(head: Head, *, request_method: str | None = None) -> tuple[str, int]:
    """How the body of `head` is delimited: ("none"|"length"|"chunked"|"eof", length).

    `request_method` is given for responses (a HEAD request, 1xx/204/304 have no body).
    """
    if request_method is not None:
        status = head.status
        if request_method == "HEAD" or status < 200 or status in (204, 304):
            return ("none", 0)
    codings = [t.strip().lower() for v in head.get_all("transfer-encoding") for t in v.split(",")]
    lengths = {value.strip() for value in head.get_all("content-length")}
    if codings:
        if lengths:
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        if codings != ["chunked"]:
            raise HttpError(501, f"unsupported transfer coding {', '.join(codings)!r}")
        return ("chunked", 0)
    if lengths:
        if len(lengths) > 1 or not next(iter(lengths)).isdigit():
            raise HttpError(400, "invalid Content-Length")
        return ("length", int(next(iter(lengths))))
    if request_method is None:
        return ("none", 0)  # a request without length has no body
    return ("eof", 0)


async def relay_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None,
                     framing: tuple[str, int]) -> None:
    """Copies one body from `reader` to `writer` verbatim (or discards it if writer is None).

    Raises WriteFailed when writing fails; reading errors propagate as they are (HttpError for
    bad framing, IncompleteReadError at an early EOF, OSError).
    """
    kind, length = framing
    if kind == "length":
        await _copy_exactly(reader, writer, length)
    elif kind == "chunked":
        await _copy_chunked(reader, writer)
    elif kind == "eof":
        while chunk := await reader.read(COPY_CHUNK):
            await _write(writer, chunk)


class _Counter:
    """A sink that only counts what is written to it (for discarded bodies)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> None:
        self.count += len(data)

    async def drain(self) -> None:
        return None


async def discard_body(reader: asyncio.StreamReader, framing: tuple[str, int]) -> int:
    """Reads and drops one body; returns its size without chunk framing."""
    kind, length = framing
    if kind == "length":
        sink = _Counter()
        await _copy_exactly(reader, sink, length)  # type: ignore[arg-type]
        return sink.count
    if kind == "chunked":
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "malformed chunk size") from None
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return total
            await _copy_exactly(reader, None, size + 2)
            total += size
    if kind == "eof":
        sink = _Counter()
        await relay_body(reader, sink, framing)  # type: ignore[arg-type]
        return sink.count
    return 0


async def _write(writer: asyncio.StreamWriter | None, data: bytes) -> None:
    if writer is not None:
        try:
            writer.write(data)
            await writer.drain()
        except OSError as exc:
            raise WriteFailed(str(exc) or type(exc).__name__) from exc


async def _copy_exactly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None,
                        length: int) -> None:
    while length > 0:
        chunk = await reader.read(min(COPY_CHUNK, length))
        if not chunk:
            raise HttpError(400, "body shorter than its Content-Length")
        length -= len(chunk)
        await _write(writer, chunk)


async def _copy_chunked(reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter | None) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        await _write(writer, line)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(400, "malformed chunk size") from None
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = await reader.readuntil(b"\r\n")
                await _write(writer, trailer)
                if trailer == b"\r\n":
                    return
        await _copy_exactly(reader, writer, size + 2)


def serialize_head(start: tuple[str, str, str], headers: list[tuple[str, str]]) -> bytes:
    lines = [" ".join(start)] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")


def simple_response(status: int, message: str, *, keep_alive: bool,
                    extra: list[tuple[str, str]] | None = None, head_only: bool = False) -> bytes:
    """A short plain-text response generated by the data plane itself."""
    body = f"{status} {REASONS.get(status, 'Error')}: {message}\n".encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "keep-alive" if keep_alive else "close"),
        ("Server", "mtlsform-emulator"),
        *(extra or []),
    ]
    head = serialize_head(("HTTP/1.1", str(status), REASONS.get(status, "Error")), headers)
    return head if head_only else head + body


def wants_keep_alive(head: Head) -> bool:
    """Whether the client asked to keep the connection open after this request."""
    tokens = head.tokens("connection")
    if request_version(head) == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens
