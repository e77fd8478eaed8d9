"""HTTP/2 on a domain with Http2 on: negotiated by ALPN, then answered with HTTP/1.1 required.

The data plane offers `h2` (before `http/1.1`) in ALPN on listeners and domains whose rules
have Http2 on, so a client sees the negotiation CLB does. It serves requests over HTTP/1.1
only: a connection that negotiated `h2` gets the server's connection preface (an empty
SETTINGS frame), its SETTINGS acknowledged, and its first request (HEADERS on stream N)
refused with RST_STREAM and GOAWAY carrying HTTP_1_1_REQUIRED (RFC 9113, section 7), after
which clients such as curl retry the request over HTTP/1.1 on a new connection.
"""

from __future__ import annotations

import asyncio
import struct

H2 = "h2"
HTTP11 = "http/1.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, GOAWAY = 0x1, 0x3, 0x4, 0x7
ACK = 0x1
MAX_FRAMES = 16  # read before giving up on a client that sends no request
HTTP_1_1_REQUIRED = 0xD


def frame(kind: int, payload: bytes, *, flags: int = 0, stream: int = 0) -> bytes:
    """One HTTP/2 frame: 24-bit length, type, flags, 31-bit stream identifier, payload."""
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


def goaway(error_code: int, last_stream: int = 0) -> bytes:
    return frame(GOAWAY, struct.pack(">II", last_stream & 0x7FFFFFFF, error_code))


async def require_http11(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                         timeout: float) -> int | None:
    """Answers an h2 connection: the stream of the request refused, or None when none came."""
    try:
        async with asyncio.timeout(timeout):
            if await reader.readexactly(len(PREFACE)) != PREFACE:
                return None
            writer.write(frame(SETTINGS, b""))
            await writer.drain()
            for _ in range(MAX_FRAMES):
                head = await reader.readexactly(9)
                length = int.from_bytes(head[:3], "big")
                kind, flags = head[3], head[4]
                stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                await reader.readexactly(length)
                if kind == SETTINGS and not flags & ACK:
                    writer.write(frame(SETTINGS, b"", flags=ACK))
                elif kind == HEADERS:
                    writer.write(frame(RST_STREAM, struct.pack(">I", HTTP_1_1_REQUIRED),
                                       stream=stream) + goaway(HTTP_1_1_REQUIRED, stream))
                    await writer.drain()
                    return stream
                await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, OSError):
        return None
    writer.write(goaway(HTTP_1_1_REQUIRED))
    await writer.drain()
    return None
