"""Reading the server name (SNI) from a TLS ClientHello before the handshake starts.

Why: OpenSSL keeps the verify mode of the context a connection starts with, even when an SNI
callback switches to another domain's context (reference mtls.md §4.2). Peeking at the
ClientHello first lets the data plane start each handshake with the right domain's context, so
a one-way domain asks for no client certificate and a mutual one refuses a missing one during
the handshake.
"""

from __future__ import annotations

from dataclasses import dataclass

RECORD_HEADER = 5
MAX_RECORD = 16384 + 2048


@dataclass(frozen=True)
class Hello:
    """What the peek found: `complete` once the whole first record is in, `tls` if it is TLS."""

    complete: bool
    tls: bool
    server_name: str | None = None


def record_complete(data: bytes) -> bool:
    """Whether `data` holds the whole first TLS record (or enough to know it is not TLS)."""
    if len(data) >= 1 and data[0] != 0x16:
        return True
    if len(data) < RECORD_HEADER:
        return False
    length = int.from_bytes(data[3:5], "big")
    return length > MAX_RECORD or len(data) >= RECORD_HEADER + length


def parse_client_hello(data: bytes) -> Hello:
    """Parses the first record of a connection; never raises on malformed input."""
    if not data:
        return Hello(complete=False, tls=False)
    if data[0] != 0x16:
        return Hello(complete=True, tls=False)
    if not record_complete(data):
        return Hello(complete=False, tls=True)
    length = int.from_bytes(data[3:5], "big")
    body = data[RECORD_HEADER:RECORD_HEADER + length]
    try:
        return Hello(complete=True, tls=True, server_name=_server_name(body))
    except (IndexError, ValueError):
        return Hello(complete=True, tls=True)


def _server_name(body: bytes) -> str | None:
    if body[0] != 0x01:  # handshake type ClientHello
        return None
    hello_length = int.from_bytes(body[1:4], "big")
    hello = body[4:4 + hello_length]
    if len(hello) < hello_length:
        return None  # a ClientHello split over records: let the default context answer
    pos = 2 + 32  # legacy_version, random
    pos += 1 + hello[pos]  # session id
    pos += 2 + int.from_bytes(hello[pos:pos + 2], "big")  # cipher suites
    pos += 1 + hello[pos]  # compression methods
    if pos + 2 > len(hello):
        return None
    end = pos + 2 + int.from_bytes(hello[pos:pos + 2], "big")
    pos += 2
    while pos + 4 <= end:
        ext_type = int.from_bytes(hello[pos:pos + 2], "big")
        ext_length = int.from_bytes(hello[pos + 2:pos + 4], "big")
        ext = hello[pos + 4:pos + 4 + ext_length]
        pos += 4 + ext_length
        if ext_type != 0:
            continue
        list_end = 2 + int.from_bytes(ext[0:2], "big")
        item = 2
        while item + 3 <= list_end:
            name_type = ext[item]
            name_length = int.from_bytes(ext[item + 1:item + 3], "big")
            name = ext[item + 3:item + 3 + name_length]
            item += 3 + name_length
            if name_type == 0:
                return name.decode("ascii").lower().rstrip(".")
        return None
    return None
