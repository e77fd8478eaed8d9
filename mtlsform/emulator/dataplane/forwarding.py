"""One request through the proxy: route it, pick a target, forward it, relay the answer.

Answers generated here: 404 (no rule for host and path), 421 (the Host needs another domain's
TLS settings than the SNI the connection was made with, e.g. a mutual domain reached through a
one-way one), 501 (GRPC/TRPC forwarding, which needs HTTP/2), 503 (no bound, weighted, healthy
target), 502 (the target could not be reached or gave no valid answer), 504 (no answer in time).
A target that refuses the connection is skipped and another one tried (nothing was sent yet);
once a request has been sent it is never replayed. Upstream connections are not reused.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from mtlsform.emulator.dataplane.balancer import Balancer
from mtlsform.emulator.dataplane.bodies import body_framing, relay_body
from mtlsform.emulator.dataplane.closing import close_writer
from mtlsform.emulator.dataplane.config import (
    UNSUPPORTED_FORWARD_TYPES,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    Timeouts,
    TlsPolicy,
)
from mtlsform.emulator.dataplane.headers import forwarded_headers, response_headers
from mtlsform.emulator.dataplane.http1 import (
    Head,
    HttpError,
    WriteFailed,
    absolute_authority,
    check_request,
    origin_path,
    read_head,
    serialize_head,
    simple_response,
    wants_keep_alive,
)
from mtlsform.emulator.dataplane.redirect import RedirectConfig
from mtlsform.emulator.dataplane.routing import RouteTable
from mtlsform.emulator.dataplane.sessions import (
    DEFAULT_COOKIE_NAME,
    SessionCookies,
    cookie_value,
    set_cookie_header,
)
from mtlsform.emulator.dataplane.tlscontexts import ClientCertificate

log = logging.getLogger("mtlsform.emulator.dataplane")

CONNECT_TIMEOUT = 5.0
RESPONSE_TIMEOUT = 60.0
UPSTREAM_CLOSE_TIMEOUT = 1.0


@dataclass(frozen=True)
class ClientConnection:
    """What the proxy knows about the client side of a connection."""

    client_ip: str
    server_name: str | None
    policy: TlsPolicy | None
    ssl_object: ssl.SSLObject | None = None

    @cached_property
    def certificate(self) -> ClientCertificate | None:
        """The verified client certificate (parsed on first use, once per connection)."""
        return ClientCertificate.from_ssl_object(self.ssl_object)

    @property
    def proto(self) -> str:
        return "https" if self.policy is not None else "http"


@dataclass
class Services:
    """What every listener shares: the balancer, sticky sessions, and target addresses."""

    balancer: Balancer
    sessions: SessionCookies
    connect_address: Callable[[TargetConfig], tuple[str, int]]
    timeouts: Timeouts = field(default_factory=Timeouts)


def _insecure_upstream_context() -> ssl.SSLContext:
    # CLB does not verify backend certificates when forwarding with HTTPS; neither do we.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


_UPSTREAM_TLS = _insecure_upstream_context()


async def exchange(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   client: ClientConnection, listener: ListenerConfig, table: RouteTable,
                   services: Services) -> bool:
    """Serves one request; returns whether the client connection may be kept open."""
    check_request(head)
    keep = wants_keep_alive(head)
    framing = body_framing(head)
    has_body = framing[0] != "none"
    absolute_host = absolute_authority(head.target)  # it replaces Host (RFC 9112 §3.2.2)
    path = origin_path(head.target)
    host = absolute_host or head.get("host") or client.server_name

    async def reply(status: int, message: str) -> bool:
        keep_after = keep and not has_body  # an unread body would corrupt the next request
        writer.write(simple_response(status, message, keep_alive=keep_after,
                                     head_only=head.method == "HEAD"))
        await writer.drain()
        return keep_after

    route = table.route_for(host, path)
    if route is None:
        return await reply(404, f"no forwarding rule for host {host!r} and path {path!r}")
    if route.redirect is not None:
        return await _redirect(route.redirect, host or "", path, head, writer,
                               keep and not has_body)
    if listener.sni and client.policy is not None:
        domain = table.domain_for(host)
        wanted = table.tls_for_domain(domain)
        # Another domain's TLS settings: misdirected. The connection's own domain may have
        # changed its settings since the handshake (a rotation): that is not a misdirection.
        if wanted is not None and wanted.fingerprint() != client.policy.fingerprint() \
                and domain != table.domain_for(client.server_name):
            return await reply(421, f"host {host!r} is served with other TLS settings than "
                                    f"the server name {client.server_name!r} of this connection")
    if route.forward_type in UNSUPPORTED_FORWARD_TYPES:
        return await reply(501, f"forwarding with {route.forward_type} (HTTP/2) is not "
                                "supported by the emulator's data plane")
    route_key = (listener.listener_id, route.location_id)
    cookie_name = route.cookie_name or DEFAULT_COOKIE_NAME
    sticky_key = f"{listener.listener_id}/{route.location_id}"
    pinned = None
    if route.session_expire_time > 0:
        value = cookie_value(";".join(head.get_all("cookie")), cookie_name)
        if value:
            pinned = services.sessions.read(sticky_key, value, time.time())

    upstream, target, tried = await _connect(services, listener, route, client, pinned)
    if upstream is None or target is None:
        if not tried:
            return await reply(503, services.balancer.why_unavailable(listener.listener_id,
                                                                      route))
        return await reply(502, f"no target of this rule accepted the connection ({tried} tried)")
    up_reader, up_writer = upstream
    services.balancer.acquire(route_key, target)
    try:
        if has_body and (head.get("expect") or "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # we read the body ourselves
            await writer.drain()
        headers = forwarded_headers(head, client_ip=client.client_ip, proto=client.proto,
                                    certificate=client.certificate)
        if host:
            headers.insert(0, ("Host", host))
        if framing[0] == "length":
            headers.append(("Content-Length", str(framing[1])))
        elif framing[0] == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        headers.append(("Connection", "close"))
        up_writer.write(serialize_head((head.method, path, "HTTP/1.1"), headers))
        try:
            await relay_body(reader, up_writer, framing, timeout=services.timeouts.client_body)
        except WriteFailed as exc:
            _log_target(listener, target, f"failed while receiving the request: {exc}")
            return await reply(502, "the target failed while receiving the request")
        except HttpError as exc:
            return await reply(exc.status, exc.message)
        try:
            async with asyncio.timeout(RESPONSE_TIMEOUT):
                response = await _response_head(up_reader)
            answer = body_framing(response, request_method=head.method)
        except TimeoutError:
            _log_target(listener, target, "did not answer in time")
            return await reply(504, "the target did not answer in time")
        except (OSError, HttpError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            _log_target(listener, target, _text(exc))
            return await reply(502, "the target failed to answer")
        out = response_headers(response)
        if answer[0] == "length":
            out.append(("Content-Length", str(answer[1])))
        elif answer[0] == "chunked":
            out.append(("Transfer-Encoding", "chunked"))
        elif answer[0] == "none":
            out.extend(("Content-Length", v) for v in response.get_all("content-length")[:1])
        if route.session_expire_time > 0:
            value = services.sessions.issue(sticky_key, target.key, route.session_expire_time,
                                            time.time())
            out.append(("Set-Cookie", set_cookie_header(
                cookie_name, value, route.session_expire_time, secure=client.proto == "https")))
        keep = keep and answer[0] != "eof"
        out.append(("Connection", "keep-alive" if keep else "close"))
        writer.write(serialize_head(("HTTP/1.1", response.start[1], response.start[2]), out))
        await relay_body(up_reader, writer, answer)
        return keep
    except (OSError, WriteFailed, HttpError, asyncio.IncompleteReadError, ssl.SSLError):
        # The client went away, or the target failed mid-body after the status line was sent:
        # closing is the only honest signal left.
        return False
    finally:
        services.balancer.release(route_key, target)
        await close_writer(up_writer, UPSTREAM_CLOSE_TIMEOUT)


async def _redirect(redirect: RedirectConfig, host: str, path: str, head: Head,
                    writer: asyncio.StreamWriter, keep: bool) -> bool:
    """Answers a request matched by a redirecting rule: its code and Location."""
    location = redirect.location(host, path)
    writer.write(simple_response(redirect.code, f"redirected to {location}", keep_alive=keep,
                                 extra=[("Location", location)],
                                 head_only=head.method == "HEAD"))
    await writer.drain()
    return keep


async def _response_head(reader: asyncio.StreamReader) -> Head:
    while True:
        head = await read_head(reader, response=True)
        if head is None:
            raise HttpError(502, "the target closed the connection without answering")
        if head.status >= 200 or head.status == 101:
            if head.status == 101:
                raise HttpError(502, "protocol upgrades are not supported")
            return head
        # 1xx interim answers (e.g. 103) are dropped; the client gets the final one.


Upstream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(services: Services, listener: ListenerConfig, route: RouteConfig,
                   client: ClientConnection, pinned: tuple[str, int] | None,
                   ) -> tuple[Upstream | None, TargetConfig | None, int]:
    """(stream, target, failed attempts): tries other targets while connections fail."""
    tried: list[tuple[str, int]] = []
    use_tls = route.forward_type == "HTTPS"
    for _ in range(max(1, len(route.targets))):
        target = services.balancer.choose(listener.listener_id, route, client_ip=client.client_ip,
                                          pinned=pinned, exclude=tried)
        if target is None:
            break
        address, port = services.connect_address(target)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                stream = await asyncio.open_connection(
                    address, port, ssl=_UPSTREAM_TLS if use_tls else None,
                    server_hostname=client.server_name if use_tls else None)
            return stream, target, len(tried)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            _log_target(listener, target, f"connect to {address}:{port} failed: {_text(exc)}")
            tried.append(target.key)
    return None, None, len(tried)


def _log_target(listener: ListenerConfig, target: TargetConfig, what: str) -> None:
    log.warning("listener %s: target %s:%s %s", listener.listener_id, target.target_id,
                target.port, what)


def _text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
