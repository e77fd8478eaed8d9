"""HTTP/1.1 message bodies for a reverse proxy: framing, relaying, discarding (RFC 9112 §6-7).

`body_framing` decides how a body is delimited and refuses what a server behind the proxy could
delimit differently (request smuggling): Transfer-Encoding together with Content-Length, several
differing Content-Length values, a length that is not ASCII digits, a transfer coding other than
a single `chunked`, Transfer-Encoding in an HTTP/1.0 request. Bodies are never buffered whole.
`relay_body` copies a Content-Length body verbatim and re-frames a chunked one: each chunk size
must be 1*HEXDIG, chunk extensions are checked and dropped (RFC 9112 §7.1.1: a recipient
ignores the ones it does not know), every chunk must end with CRLF, trailer fields are checked
and dropped. With `timeout`, each read waits at most that long (nginx's `client_body_timeout`)
and then fails with HttpError 408.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import TypeVar

from mtlsform.emulator.dataplane.http1 import TOKEN, Head, HttpError, WriteFailed

COPY_CHUNK = 64 * 1024
MAX_CHUNK_LINE = 4096
MAX_TRAILERS = 64 * 1024

Framing = tuple[str, int]

_DIGITS = re.compile(r"[0-9]+")
_HEXDIGITS = re.compile(rb"[0-9A-Fa-f]{1,16}")
_EXTENSION = re.compile(
    rb"[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    rb"(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|\"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]"
    rb"|\\[\t \x21-\x7e\x80-\xff])*\"))?")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

T = TypeVar("T")


def content_length(values: list[str], status: int) -> int | None:
    """The one length in Content-Length `values` (a list repeating one number is accepted, RFC
    9110 §8.6), None without any; HttpError(`status`) for anything else."""
    if not values:
        return None
    found = {item.strip(" \t") for value in values for item in value.split(",")}
    if len(found) != 1:
        raise HttpError(status, "several differing Content-Length values")
    text = next(iter(found))
    if not _DIGITS.fullmatch(text) or len(text) > 18:
        raise HttpError(status, "the Content-Length is not a number of ASCII digits")
    return int(text)


def body_framing(head: Head, *, request_method: str | None = None) -> Framing:
    """How the body of `head` is delimited: ("none"|"length"|"chunked"|"eof", length).

    `request_method` is given for responses (a HEAD request, 1xx/204/304 have no body); a bad
    request is HttpError 400 (501 for an unknown transfer coding), a bad response 502.
    """
    status = 400 if request_method is None else 502
    if request_method is not None:
        code = head.status
        if request_method == "HEAD" or code < 200 or code in (204, 304):
            return ("none", 0)
    codings = [t.strip(" \t").lower() for v in head.get_all("transfer-encoding")
               for t in v.split(",")]
    length = content_length(head.get_all("content-length"), status)
    if codings:
        if request_method is None and head.start[2] == "HTTP/1.0":
            raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")
        if length is not None:
            raise HttpError(status, "both Content-Length and Transfer-Encoding")
        if codings != ["chunked"]:
            raise HttpError(501 if request_method is None else 502,
                            "only the transfer coding chunked, once, is supported")
        return ("chunked", 0)
    if length is not None:
        return ("length", length)
    if request_method is None:
        return ("none", 0)  # a request without length has no body
    return ("eof", 0)


async def _timed(awaitable: Awaitable[T], timeout: float | None) -> T:
    if timeout is None:
        return await awaitable
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError:
        raise HttpError(408, "the request body did not arrive in time") from None


async def relay_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None,
                     framing: Framing, *, timeout: float | None = None) -> int:
    """Copies one body from `reader` to `writer` (or discards it if writer is None); returns
    its size without chunk framing.

    Raises WriteFailed when writing fails; HttpError for bad framing, a body shorter than
    announced or (408) a read that waited more than `timeout`; OSError as it is.
    """
    kind, length = framing
    if kind == "length":
        return await _copy_exactly(reader, writer, length, timeout)
    if kind == "chunked":
        return await _copy_chunked(reader, writer, timeout)
    total = 0
    if kind == "eof":
        while chunk := await _timed(reader.read(COPY_CHUNK), timeout):
            total += len(chunk)
            await _write(writer, chunk)
    return total


async def discard_body(reader: asyncio.StreamReader, framing: Framing, *,
                       timeout: float | None = None) -> int:
    """Reads and drops one body; returns its size without chunk framing."""
    return await relay_body(reader, None, framing, timeout=timeout)


async def _write(writer: asyncio.StreamWriter | None, data: bytes) -> None:
    if writer is not None:
        try:
            writer.write(data)
            await writer.drain()
        except OSError as exc:
            raise WriteFailed(str(exc) or type(exc).__name__) from exc


async def _copy_exactly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None,
                        length: int, timeout: float | None) -> int:
    left = length
    while left > 0:
        chunk = await _timed(reader.read(min(COPY_CHUNK, left)), timeout)
        if not chunk:
            raise HttpError(400, "the body is shorter than announced")
        left -= len(chunk)
        await _write(writer, chunk)
    return length


async def _line(reader: asyncio.StreamReader, timeout: float | None, limit: int) -> bytes:
    try:
        line = await _timed(reader.readuntil(b"\r\n"), timeout)
    except asyncio.IncompleteReadError:
        raise HttpError(400, "the chunked body ended early") from None
    except asyncio.LimitOverrunError:
        raise HttpError(400, "a line of the chunked body is too long") from None
    if len(line) > limit:
        raise HttpError(400, "a line of the chunked body is too long")
    return line[:-2]


def chunk_size(line: bytes) -> int:
    """The size in a chunk-size line (without its CRLF): 1*HEXDIG then valid extensions."""
    match = _HEXDIGITS.match(line)
    if match is None:
        raise HttpError(400, "malformed chunk size: expected hexadecimal digits only")
    rest = line[match.end():]
    while rest:
        extension = _EXTENSION.match(rest)
        if extension is None:
            raise HttpError(400, "malformed chunk size line: expected hexadecimal digits, "
                                 "then only ;name or ;name=value extensions")
        rest = rest[extension.end():]
    return int(match.group(), 16)


async def _copy_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None,
                        timeout: float | None) -> int:
    total = 0
    while True:
        size = chunk_size(await _line(reader, timeout, MAX_CHUNK_LINE))
        await _write(writer, b"%x\r\n" % size)
        if size == 0:
            break
        await _copy_exactly(reader, writer, size, timeout)
        total += size
        end = await _timed(reader.readexactly(2), timeout)
        if end != b"\r\n":
            raise HttpError(400, "a chunk is longer than its size")
        await _write(writer, b"\r\n")
    read = 0
    while line := await _line(reader, timeout, MAX_TRAILERS):  # trailers are checked, dropped
        read += len(line)
        name, sep, value = line.partition(b":")
        if read > MAX_TRAILERS or not sep or not TOKEN.fullmatch(name.decode("latin-1")) \
                or _CONTROL.search(value):
            raise HttpError(400, "malformed trailer field")
    await _write(writer, b"\r\n")
    return total
