"""One CLB listener served on loopback: accept, pick the TLS policy, handshake, serve requests.

For HTTPS the ClientHello is peeked first and the policy chosen by its server name (SNI on: the
matching domain's certificate and client CA, else the default domain's; SNI off: the
listener's), so the handshake starts with the right verify mode. Failed handshakes go to the
failure log with their reason. Plain HTTP sent to an HTTPS port gets a 400 that says so.
Connections are kept alive between requests; when the listener's TLS material changes, open
connections are closed after their current request so new handshakes use the new material.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from typing import Any, cast

from mtlsform.emulator.dataplane.acceptor import Acceptor, listening_socket, open_stream, peek
from mtlsform.emulator.dataplane.clienthello import parse_client_hello, record_complete
from mtlsform.emulator.dataplane.closing import close_writer
from mtlsform.emulator.dataplane.config import ListenerConfig, TlsPolicy
from mtlsform.emulator.dataplane.failures import FailureLog
from mtlsform.emulator.dataplane.forwarding import ClientConnection, Services, exchange
from mtlsform.emulator.dataplane.h2 import H2, Collected, Http2Server
from mtlsform.emulator.dataplane.http1 import Head, HttpError, read_head, simple_response
from mtlsform.emulator.dataplane.routing import RouteTable
from mtlsform.emulator.dataplane.tlscontexts import (
    HandshakeFailure,
    TlsContextCache,
    TlsMaterialError,
    describe_handshake_error,
)
from mtlsform.emulator.dataplane.tlsstream import TlsServerStream

log = logging.getLogger("mtlsform.emulator.dataplane")

CLOSE_TIMEOUT = 2.0  # graceful close of a finished connection; shutdown resets at once


def tls_policies(listener: ListenerConfig) -> list[TlsPolicy]:
    """Every TLS policy a listener uses (the listener's, or each SNI domain's)."""
    if listener.protocol != "HTTPS":
        return []
    if not listener.sni:
        return [listener.tls] if listener.tls is not None else []
    return [route.tls for route in listener.routes if route.tls is not None]


class ListenerServer:
    """A running listener; `update` swaps in new configuration without dropping the socket."""

    def __init__(self, listener: ListenerConfig, bind: tuple[str, int], services: Services,
                 contexts: TlsContextCache, failures: FailureLog) -> None:
        self.bind = bind  # as asked (port 0: any free one)
        self.bound = bind  # where it listens once started (the port the kernel chose)
        self._services = services
        self._contexts = contexts
        self._failures = failures
        self._acceptor: Acceptor | None = None
        self._idle: set[asyncio.StreamWriter] = set()  # connections waiting for a request
        self.generation = 0
        self.listener = listener
        self.table = RouteTable(listener.routes)
        self._tls_identity = self._tls_fingerprints(listener)

    @property
    def listen(self) -> str:
        return f"{self.bound[0]}:{self.bound[1]}"

    @staticmethod
    def _tls_fingerprints(listener: ListenerConfig) -> tuple[object, ...]:
        return (listener.protocol, listener.sni,
                tuple(policy.fingerprint() for policy in tls_policies(listener)))

    def update(self, listener: ListenerConfig) -> None:
        """Takes new rules, targets and certificates; open connections follow at once for
        routing and after their current request for TLS."""
        identity = self._tls_fingerprints(listener)
        if identity != self._tls_identity:
            self.generation += 1
            self._tls_identity = identity
            for writer in list(self._idle):
                writer.close()  # idle keep-alive connections must handshake again
        self.listener = listener
        self.table = RouteTable(listener.routes)

    async def start(self) -> None:
        sock = listening_socket(*self.bind)
        self.bound = (self.bind[0], int(sock.getsockname()[1]))
        self._acceptor = Acceptor(sock, self._handle)
        self._acceptor.start()

    def begin_close(self) -> list[asyncio.Task[Any]]:
        """Stops accepting and cancels every connection; returns the tasks to wait for."""
        return self._acceptor.begin_close() if self._acceptor is not None else []

    async def close(self) -> None:
        if self._acceptor is not None:
            await self._acceptor.close()

    def _policy_for(self, server_name: str | None) -> TlsPolicy | None:
        listener = self.listener
        if not listener.sni:
            return listener.tls
        policy = self.table.tls_for_domain(self.table.domain_for(server_name))
        if policy is None:
            policy = self.table.tls_for_domain(self.table.default_domain)
        if policy is None:
            policies = tls_policies(listener)
            policy = policies[0] if policies else None
        return policy

    def _refuse(self, client: str, server_name: str | None, failure: HandshakeFailure) -> None:
        self._failures.record(listener_id=self.listener.listener_id, listen=self.listen,
                              client=client, server_name=server_name, failure=failure)

    async def _handle(self, conn: socket.socket, address: tuple[Any, ...]) -> None:
        client_ip, client_port = address[0], address[1]
        client = f"{client_ip}:{client_port}"
        generation = self.generation
        policy: TlsPolicy | None = None
        server_name: str | None = None
        ssl_object: ssl.SSLObject | None = None
        if self.listener.protocol == "HTTPS":
            try:
                first = await peek(conn, record_complete, timeout=self._services.timeouts.handshake)
            except (TimeoutError, OSError) as exc:
                self._refuse(client, None, describe_handshake_error(exc))
                return
            if not first:
                return  # connected and closed (port probes, health checkers)
            hello = parse_client_hello(first)
            if not hello.tls:
                self._refuse(client, None, HandshakeFailure(
                    "not-tls", "plain HTTP sent to the HTTPS port", "HTTP_REQUEST"))
                await self._plain_refusal(conn)
                return
            server_name = hello.server_name
            policy = self._policy_for(server_name)
            if policy is None:
                self._refuse(client, server_name, HandshakeFailure(
                    "no-certificate", "no server certificate is configured for this name", ""))
                return
            try:
                context = self._contexts.context_for(policy)
            except TlsMaterialError as exc:
                self._refuse(client, server_name, HandshakeFailure(
                    "bad-server-certificate", str(exc), ""))
                return
            stream = TlsServerStream(conn, context)
            try:
                await stream.handshake(self._services.timeouts.handshake)
            except (ssl.SSLError, OSError, TimeoutError, EOFError) as exc:
                self._refuse(client, server_name, describe_handshake_error(exc))
                await stream.send_alert()
                return  # the acceptor closes the socket
            # TlsWriter implements the StreamWriter subset the proxy uses (tlsstream.py).
            reader, writer = stream.reader, cast(asyncio.StreamWriter, stream.writer)
            ssl_object = stream.ssl_object
        else:
            reader, writer = await open_stream(conn, None)
        connection = ClientConnection(client_ip, server_name, policy, ssl_object)
        if ssl_object is not None and ssl_object.selected_alpn_protocol() == H2:
            await self._serve_h2(reader, writer, connection, generation)
            return
        try:
            await self._serve(reader, writer, connection, generation)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            await close_writer(writer, CLOSE_TIMEOUT)

    async def _serve_h2(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        connection: ClientConnection, generation: int) -> None:
        """Http2 on and negotiated: each stream served as an HTTP/1.1 request (h2.py)."""
        async def one(head: Head, body: asyncio.StreamReader, out: Collected) -> bool:
            return await exchange(head, body, cast(asyncio.StreamWriter, out), connection,
                                  self.listener, self.table, self._services)

        server = Http2Server(reader, writer, one,
                             idle_timeout=self._services.timeouts.keepalive,
                             current=lambda: generation == self.generation, idle=self._idle)
        try:
            await server.serve()
        except (OSError, ssl.SSLError):
            pass
        finally:
            await close_writer(writer, CLOSE_TIMEOUT)

    async def _plain_refusal(self, conn: socket.socket) -> None:
        reader, writer = await open_stream(conn, None)
        try:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await read_head(reader)
            writer.write(simple_response(400, "this is an HTTPS port; use https://",
                                         keep_alive=False))
            await writer.drain()
        except OSError:
            pass
        finally:
            await close_writer(writer, CLOSE_TIMEOUT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     connection: ClientConnection, generation: int) -> None:
        timeouts = self._services.timeouts
        idle_timeout = timeouts.client_header
        served = 0
        # A connection handshaken before a TLS change still gets its first request answered
        # (the client sends it right after its handshake: closing it then fails that request);
        # kept alive after a request, it must handshake again for the next one.
        while served == 0 or generation == self.generation:
            if served:
                self._idle.add(writer)
            try:
                async with asyncio.timeout(idle_timeout):
                    first = await reader.read(1)  # nothing of this request yet: close quietly
            except TimeoutError:
                return
            finally:
                self._idle.discard(writer)
            if not first:
                return
            try:
                async with asyncio.timeout(timeouts.client_header):
                    head = await read_head(reader, first=first)
            except TimeoutError:
                writer.write(simple_response(408, "the request head did not arrive in time",
                                             keep_alive=False))
                await writer.drain()
                return
            except HttpError as exc:
                writer.write(simple_response(exc.status, exc.message, keep_alive=False))
                await writer.drain()
                return
            if head is None:
                return
            try:
                keep = await exchange(head, reader, writer, connection, self.listener,
                                      self.table, self._services)
            except HttpError as exc:
                writer.write(simple_response(exc.status, exc.message, keep_alive=False))
                await writer.drain()
                return
            if not keep:
                return
            served += 1
            idle_timeout = timeouts.keepalive
