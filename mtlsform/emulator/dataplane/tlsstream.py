"""Server-side TLS over an accepted socket, with the refusal alert actually sent.

Why not asyncio's own TLS transport: when a handshake fails it closes the socket without
sending the alert OpenSSL wrote (asyncio/sslproto.py, 3.11-3.13), so a client refused for a
missing certificate sees "empty reply" instead of "alert certificate required", and the failure
is only logged in debug mode. Here the handshake runs on an `ssl.SSLObject` over memory BIOs:
a failure raises for the caller to log, which then sends the alert. After the handshake, a pump
task decrypts into an `asyncio.StreamReader` (with flow control) and `TlsWriter` encrypts,
offering the small part of the StreamWriter interface the proxy uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any

from mtlsform.emulator.dataplane.closing import cancel_and_wait

READ_SIZE = 64 * 1024
STREAM_LIMIT = 64 * 1024
CLOSE_TIMEOUT = 2.0


class _FlowControl:
    """Stands in for a transport so StreamReader can pause the pump when its buffer fills."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    def pause_reading(self) -> None:
        self.open.clear()

    def resume_reading(self) -> None:
        self.open.set()


class TlsServerStream:
    """One TLS connection: `await handshake()`, then use `.reader` and `.writer`."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._send_lock = asyncio.Lock()
        self._flow = _FlowControl()
        self.reader = asyncio.StreamReader(limit=STREAM_LIMIT)
        self.reader.set_transport(self._flow)  # type: ignore[arg-type]
        self.writer = TlsWriter(self)
        self._pump_task: asyncio.Task[Any] | None = None
        self._aborted = False

    async def handshake(self, timeout: float) -> None:
        """Completes the handshake or raises its error; then call `send_alert` to tell the
        client why (after logging, so a refused client always finds the record)."""
        async with asyncio.timeout(timeout):
            await self._handshake()
        self._pump_task = self._loop.create_task(self._pump())

    async def send_alert(self) -> None:
        """Sends what OpenSSL wrote after a failed handshake: the alert naming the reason."""
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.flush()

    async def _handshake(self) -> None:
        while True:
            try:
                self.ssl_object.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self.flush()
                data = await self._loop.sock_recv(self._sock, READ_SIZE)
                if not data:
                    raise ConnectionResetError("the client closed the connection") from None
                self._incoming.write(data)
        with contextlib.suppress(OSError):
            # The last flight and TLS 1.3 session tickets. A client that leaves right after its
            # Finished (openssl s_time does) has still completed the handshake.
            await self.flush()

    async def flush(self) -> None:
        """Sends everything encrypted so far, in order."""
        async with self._send_lock:
            data = self._outgoing.read()
            if data:
                await self._loop.sock_sendall(self._sock, data)

    async def _pump(self) -> None:
        reader = self.reader
        try:
            while True:
                while True:
                    try:
                        chunk = self.ssl_object.read(READ_SIZE)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:  # close_notify
                        reader.feed_eof()
                        return
                    if not chunk:
                        reader.feed_eof()
                        return
                    reader.feed_data(chunk)
                if self._outgoing.pending:
                    await self.flush()  # e.g. a TLS 1.3 key update reply
                await self._flow.open.wait()
                data = await self._loop.sock_recv(self._sock, READ_SIZE)
                if not data:
                    reader.feed_eof()
                    return
                self._incoming.write(data)
        except (OSError, ssl.SSLError) as exc:
            reader.set_exception(exc)

    async def close(self) -> None:
        """Sends close_notify (best effort, bounded) and closes the socket."""
        if self._aborted:
            return
        with contextlib.suppress(ssl.SSLError, ValueError):
            self.ssl_object.unwrap()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.flush()
        await self._end_pump()
        self._sock.close()

    async def abort(self, others: list[asyncio.Future[Any] | None]) -> None:
        """Closes the socket now, without close_notify: for shutdown and peers that do not
        read. The pump and `others` (the writer's tasks) are ended first, so no socket
        operation is left registered on a descriptor number the system may reuse."""
        self._aborted = True
        await cancel_and_wait([task for task in (self._pump_task, *others)
                               if task is not None and task is not asyncio.current_task()])
        self.reader.feed_eof()
        self._sock.close()

    async def _end_pump(self) -> None:
        if self._pump_task is not None:
            await cancel_and_wait([self._pump_task])
        self.reader.feed_eof()  # a handler waiting for the next request ends now


class TlsWriter:
    """The StreamWriter subset the proxy uses: write, drain, close, wait_closed, extra info."""

    def __init__(self, stream: TlsServerStream) -> None:
        self._stream = stream
        self._flushing: asyncio.Task[Any] | None = None
        self._closing: asyncio.Future[Any] | None = None  # the close task (or a done future)
        self._error: BaseException | None = None

    def write(self, data: bytes) -> None:
        if self._closing is not None or not data:
            return
        try:
            self._stream.ssl_object.write(data)
        except ssl.SSLError as exc:
            self._error = exc
            return
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            await self._stream.flush()
        except OSError as exc:
            self._error = exc

    async def drain(self) -> None:
        if self._error is None:
            try:
                await self._stream.flush()
            except OSError as exc:
                self._error = exc
        if self._error is not None:
            raise ConnectionResetError(f"connection lost: {self._error}")

    def is_closing(self) -> bool:
        return self._closing is not None

    def close(self) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._stream.close())

    async def wait_closed(self) -> None:
        if self._closing is not None:
            await asyncio.shield(self._closing)

    async def abort(self) -> None:
        """Resets the connection at once (see `TlsServerStream.abort`)."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_future()
            self._closing.set_result(None)
        await self._stream.abort([self._flushing, self._closing])

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._stream.ssl_object
        if name == "peercert":
            return self._stream.ssl_object.getpeercert()
        if name == "socket":
            return self._stream._sock
        if name == "peername":
            with contextlib.suppress(OSError):
                return self._stream._sock.getpeername()
        return default
