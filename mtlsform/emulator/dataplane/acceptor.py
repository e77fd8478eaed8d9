"""Accepting TCP connections ourselves, peeking at the first bytes, then becoming a stream.

asyncio's `start_server(ssl=...)` hides handshake failures (it logs them only in debug mode)
and must choose the TLS context before seeing the ClientHello. Here each listener accepts
plain sockets, peeks (MSG_PEEK, nothing is consumed) at the first record, and then wraps the
socket with `connect_accepted_socket(..., ssl=context)`, whose awaited result carries the
handshake error, so every failure can be logged with its reason.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
import ssl
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from mtlsform.emulator.dataplane.closing import cancel_and_wait

log = logging.getLogger("mtlsform.emulator.dataplane")

# Out of descriptors or memory: accepting again later may work (asyncio's servers do the same).
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_RETRY_DELAY = 0.5
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


def bind_error_text(host: str, port: int, exc: OSError) -> str:
    """Why host:port could not be bound, with a hint for the usual causes."""
    hint = ""
    if exc.errno == errno.EACCES:
        hint = " (ports below 1024 need privileges: use a port offset, e.g. 8000)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        hint = " (this system does not route that loopback address: use a host override)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}"


ConnectionHandler = Callable[[socket.socket, tuple[Any, ...]], Coroutine[Any, Any, None]]


class Acceptor:
    """Runs an accept loop on a listening socket, one task per connection."""

    def __init__(self, sock: socket.socket, handler: ConnectionHandler) -> None:
        self.sock = sock
        self._handler = handler
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def _accept_loop(self) -> None:
        # Not loop.sock_accept: a connection it accepts in the step where this task is
        # cancelled stays in its future and is never closed. Here accept() runs in this task's
        # own step, so every accepted socket is handed to a handler.
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                await _readable(self.sock)
                continue
            except OSError as exc:
                if exc.errno not in RESOURCE_ERRNOS:
                    return  # the socket was closed
                log.warning("cannot accept on %s: %s; retrying", self.sock.getsockname(), exc)
                await asyncio.sleep(ACCEPT_RETRY_DELAY)
                continue
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._handler(conn, address))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._ended, conn))

    def _ended(self, conn: socket.socket, task: asyncio.Task[Any]) -> None:
        # A done callback, not a `finally`: it also runs for a task cancelled before its first
        # step (a connection accepted as the listener closes), and it runs after the socket
        # operations cancelled with the task have unregistered the descriptor.
        self._tasks.discard(task)
        if conn.fileno() != -1 and not _owned_by_transport(conn):
            conn.close()
        if not task.cancelled() and task.exception() is not None:
            log.error("connection handler failed", exc_info=task.exception())

    def begin_close(self) -> list[asyncio.Task[Any]]:
        """Stops accepting and cancels every connection now; returns the tasks to wait for.
        The listening socket is closed on the next loop step, once the cancelled accept has
        unregistered it (so a socket reusing its descriptor number is not disturbed)."""
        tasks = [task for task in (self._loop_task, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        asyncio.get_running_loop().call_soon(self.sock.close)
        return tasks

    async def close(self) -> None:
        """Stops accepting and ends every connection of this listener at once."""
        await cancel_and_wait(self.begin_close())
        self.sock.close()  # already closed unless nothing had to be waited for


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
            async with asyncio.timeout(remaining):
                await ready
        finally:
            loop.remove_reader(conn.fileno())


async def _readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(sock.fileno(), _set_done, ready)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def _set_done(future: asyncio.Future[Any]) -> None:
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
