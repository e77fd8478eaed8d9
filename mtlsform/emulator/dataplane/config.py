"""The data plane's configuration: plain frozen values, from listeners down to targets.

A `DataPlaneConfig` is everything the data plane serves at one moment: listeners (each on a
load balancer's VIP and port), their forwarding rules (routes), the targets bound to each rule,
the TLS material per listener or per SNI domain, and the demo CVM instances it runs as backends.
`Timeouts` is how long it waits for clients. They carry no behaviour and do no I/O; the world
adapter builds a `DataPlaneConfig` from the emulator's world, and tests build them by hand.
Ports here are the configured ones; the data plane adds its port offset when it binds or
connects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from mtlsform.emulator.dataplane.redirect import RedirectConfig
from mtlsform.sensitive import Sensitive

UNIDIRECTIONAL = "UNIDIRECTIONAL"
MUTUAL = "MUTUAL"
VERIFY_ON = "ON"
VERIFY_OPTIONAL = "OPTIONAL"

# What CLB accepts without a customized configuration: TLS 1.0 to 1.3 (issue 15).
DEFAULT_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SCHEDULERS = ("WRR", "LEAST_CONN", "IP_HASH")
FORWARD_TYPES = ("HTTP", "HTTPS", "GRPC", "GRPCS", "TRPC")
# Forward types the data plane cannot speak (they need HTTP/2 to the backend).
UNSUPPORTED_FORWARD_TYPES = ("GRPC", "GRPCS", "TRPC")


@dataclass(frozen=True)
class Timeouts:
    """How long the data plane waits for a client, in seconds (nginx's names and defaults).

    - `handshake`: the TLS handshake, from the connection (the connection is then dropped);
    - `client_header`: a whole request head; the first request's first byte is awaited this
      long too. Once a head has begun and is not complete in time: `408`;
    - `client_body`: between two successive reads of a request body (not the whole body, as
      nginx's `client_body_timeout`): `408`, and the request's target is released;
    - `keepalive`: an idle kept-alive connection, for the next request's first byte.
    A connection that never sent a byte of its next request is closed without an answer.
    """

    handshake: float = 10.0
    client_header: float = 60.0
    client_body: float = 60.0
    keepalive: float = 75.0

    def __post_init__(self) -> None:
        for name in ("handshake", "client_header", "client_body", "keepalive"):
            if not getattr(self, name) > 0:
                raise ValueError(f"the {name} timeout must be above 0 seconds")


@dataclass(frozen=True)
class TlsPolicy:
    """How a listener (SNI off) or a domain (SNI on) terminates TLS.

    `server_cert_pem` is the leaf first, then any intermediates. `client_ca_pem` is the uploaded
    CA certificate(s) client certificates must chain to (MUTUAL only). `protocols` and
    `ciphers` are the customized configuration's `ssl_protocols` and `ssl_ciphers` (an
    OpenSSL cipher list; None: CLB's default list) bound to the listener or domain.
    """

    server_cert_pem: str
    server_key_pem: Sensitive[str]
    mode: str = UNIDIRECTIONAL
    verify_client: str = VERIFY_ON
    client_ca_pem: str | None = None
    http2: bool = False  # Http2 on: h2 offered in ALPN (h2.py)
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    ciphers: str | None = None
    # Dual certificates (ExtCertIds): (certificate chain, key) of other key algorithms, loaded
    # beside the main one; OpenSSL serves the one the client's offer (its signature
    # algorithms, and in TLS 1.2 its cipher suites) can use.
    extra_servers: tuple[tuple[str, Sensitive[str]], ...] = ()

    @property
    def mutual(self) -> bool:
        return self.mode == MUTUAL

    @property
    def requires_client_cert(self) -> bool:
        return self.mode == MUTUAL and self.verify_client != VERIFY_OPTIONAL

    @cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (self.server_cert_pem, self.server_key_pem.reveal(), self.mode,
                     self.verify_client, self.client_ca_pem or "", str(self.http2),
                     " ".join(self.protocols), self.ciphers or "",
                     *(part for cert, key in self.extra_servers
                       for part in (cert, key.reveal()))):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """A stable identity of this policy (used to cache TLS contexts); reveals nothing."""
        return self._fingerprint


@dataclass(frozen=True)
class HealthCheckConfig:
    """A rule's active HTTP health check (CLB HealthCheck fields, seconds).

    `http_code` is CLB's bitmask: 1 = 1xx, 2 = 2xx, 4 = 3xx, 8 = 4xx, 16 = 5xx. `domain` is the
    Host header sent (default: the rule's first plain domain, else the target's address).
    `check_type` HTTP or HTTPS (HTTPS probes do not verify the backend's certificate).
    """

    enabled: bool = True
    interval: float = 5.0
    timeout: float = 2.0
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    http_code: int = 31
    path: str = "/"
    method: str = "HEAD"
    domain: str | None = None
    check_type: str = "HTTP"

    def accepts(self, status: int) -> bool:
        """Whether an HTTP status counts as healthy under the bitmask."""
        klass = status // 100
        if not 1 <= klass <= 5:
            return False
        return bool(self.http_code & (1 << (klass - 1)))


@dataclass(frozen=True)
class TargetConfig:
    """A backend bound to a rule: `target_id` is the CVM instance ID or the ENI IP."""

    target_id: str
    address: str
    port: int
    weight: int = 10

    @property
    def key(self) -> tuple[str, int]:
        return (self.target_id, self.port)


@dataclass(frozen=True)
class RouteConfig:
    """A forwarding rule: domains + URL -> targets, with its scheduler and health check.

    `tls` is the per-domain certificate, used only when the listener has SNI on.
    """

    location_id: str
    domains: tuple[str, ...]
    url: str = "/"
    scheduler: str = "WRR"
    forward_type: str = "HTTP"
    session_expire_time: int = 0
    cookie_name: str | None = None
    health_check: HealthCheckConfig = field(default_factory=HealthCheckConfig)
    targets: tuple[TargetConfig, ...] = ()
    tls: TlsPolicy | None = None
    default_server: bool = False
    redirect: RedirectConfig | None = None  # the rule redirects instead (redirect.py)


@dataclass(frozen=True)
class ListenerConfig:
    """A listener: protocol HTTPS (or HTTP) on a VIP and port, with its routes.

    With `sni` off, `tls` holds the listener's certificate; with it on, each route's `tls` does.
    """

    listener_id: str
    load_balancer_id: str
    vip: str
    port: int
    protocol: str = "HTTPS"
    sni: bool = False
    tls: TlsPolicy | None = None
    routes: tuple[RouteConfig, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class InstanceConfig:
    """A demo CVM instance the data plane runs as an HTTP server on its private address."""

    instance_id: str
    name: str
    address: str


@dataclass(frozen=True)
class DataPlaneConfig:
    """Everything the data plane serves: listeners and the demo instances behind them."""

    listeners: tuple[ListenerConfig, ...] = ()
    instances: tuple[InstanceConfig, ...] = ()

    def instance_at(self, address: str) -> InstanceConfig | None:
        for instance in self.instances:
            if instance.address == address:
                return instance
        return None
