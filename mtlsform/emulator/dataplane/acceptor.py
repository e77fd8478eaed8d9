"""Accepting TCP connections ourselves, peeking at the first bytes, then becoming a stream.

asyncio's `start_server(ssl=...)` hides handshake failures (it logs them only in debug mode)
and must choose the TLS context before seeing the ClientHello. Here each listener accepts
plain sockets, peeks (MSG_PEEK, nothing is consumed) at the first record, and then wraps the
socket with `connect_accepted_socket(..., ssl=context)`, whose awaited result carries the
handshake error, so every failure can be logged with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import weakref
from collections.abc import Awaitable, Callable

PEEK_LIMIT = 16384 + 5 + 2048
STREAM_LIMIT = 64 * 1024


def listening_socket(host: str, port: int, backlog: int = 512) -> socket.socket:
    """A non-blocking listening socket on host:port (raises OSError if it cannot bind)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OverflowError:
        sock.close()
        raise OSError(errno.EINVAL, f"port {port} is out of range (0-65535)") from None
    except OSError:
        sock.close()
        raise
    return sock


ConnectionHandler = Callable[[socket.socket, tuple], Awaitable[None]]


class Acceptor:
    """Runs an accept loop on a listening socket, one task per connection."""

    def __init__(self, sock: socket.socket, handler: ConnectionHandler) -> None:
        self.sock = sock
        self._handler = handler
        self._tasks: set[asyncio.Task] = set()
        self._loop_task: asyncio.Task | None = None

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = await loop.sock_accept(self.sock)
            except (OSError, asyncio.CancelledError):
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._guard(conn, address))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guard(self, conn: socket.socket, address: tuple) -> None:
        try:
            await self._handler(conn, address)
        finally:
            if conn.fileno() != -1 and not _owned_by_transport(conn):
                conn.close()

    async def close(self) -> None:
        """Stops accepting and ends every connection of this listener."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        self.sock.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# Sockets handed to a transport: from then on the transport closes them, not the acceptor.
_WRAPPED: weakref.WeakSet[socket.socket] = weakref.WeakSet()


def _owned_by_transport(conn: socket.socket) -> bool:
    return conn in _WRAPPED


async def peek(conn: socket.socket, enough: Callable[[bytes], bool], timeout: float) -> bytes:
    """The first bytes of `conn` without consuming them, once `enough(data)` or EOF."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            data = conn.recv(PEEK_LIMIT, socket.MSG_PEEK)
        except BlockingIOError:
            data = None
        if data is not None and (not data or enough(data) or len(data) >= PEEK_LIMIT):
            return data
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError("nothing received")
        if data:
            await asyncio.sleep(0.005)  # partial record: the socket stays readable, so poll
            continue
        ready = loop.create_future()
        loop.add_reader(conn.fileno(), _set_done, ready)
        try:
            await asyncio.wait_for(ready, remaining)
        finally:
            loop.remove_reader(conn.fileno())


def _set_done(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


async def open_stream(conn: socket.socket, context: ssl.SSLContext | None, *,
                      handshake_timeout: float = 10.0
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Wraps an accepted socket as a stream, completing the TLS handshake when `context`.

    Raises the handshake's exception (ssl.SSLError, TimeoutError, ConnectionError...).
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    protocol = asyncio.StreamReaderProtocol(reader)
    _WRAPPED.add(conn)
    if context is None:
        transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn)
    else:
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol, conn, ssl=context, ssl_handshake_timeout=handshake_timeout)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer
