"""The provider interface: what the engine asks of a cloud, in plain data.

A provider reads the objects of one load balancer in as few calls as possible, creates, changes
and deletes objects, and waits for the cloud's asynchronous tasks before returning. Failures come
out as mtlsform.errors.ProviderError carrying the API's error code. Providers never import the
engine (plan, apply, state, cli).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from mtlsform.errors import ProviderError
from mtlsform.providers.together import Seat
from mtlsform.sensitive import Sensitive

SslMode = Literal["UNIDIRECTIONAL", "MUTUAL"]
CertType = Literal["SVR", "CA"]


@dataclass(frozen=True)
class CertificateBinding:
    """The TLS certificates of a listener (SNI off) or of one domain (SNI on)."""

    ssl_mode: SslMode
    certificate_id: str
    client_ca_id: str | None = None  # required with MUTUAL
    # SSLVerifyClient with MUTUAL: "ON" (a client certificate is required) or "OPTIONAL"
    # (a client without one gets through; the backend sees X-Client-Verify: NONE).
    verify_client: Literal["ON", "OPTIONAL"] = "ON"
    # Dual certificates: server certificates of other key algorithms served beside
    # `certificate_id` (an ECDSA one beside an RSA one), chosen by what the client offers.
    # Sent as MultiCertInfo, read back as CertificateOutput.ExtCertIds.
    extra_certificate_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthCheckSpec:
    enabled: bool = True
    path: str = "/"
    interval: int = 5
    timeout: int = 2
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    http_code_mask: int = 6  # CLB bitmask: 1=1xx 2=2xx 4=3xx 8=4xx 16=5xx
    method: Literal["HEAD", "GET"] = "HEAD"
    domain: str | None = None
    check_type: str | None = None  # CheckType; None: the cloud's default for the rule
    source_ip_type: int = 0  # 0: the VIP, 1: an address of 100.64.0.0/10
    extended_code: str | None = None  # gRPC codes that count as healthy (CheckType GRPC)


@dataclass(frozen=True)
class TargetSpec:
    """A real server bound to a rule: exactly one of instance_id or ip."""

    port: int
    instance_id: str | None = None
    ip: str | None = None
    weight: int = 10

    @property
    def key(self) -> tuple[str, int]:
        """Identity within a rule: the server and port (the weight is not part of it)."""
        return (self.instance_id or self.ip or "", self.port)


@dataclass(frozen=True)
class RuleSpec:
    domain: str
    url: str
    domains: tuple[str, ...] = ()  # a multi-domain rule (Domains): all, `domain` first
    scheduler: str = "WRR"
    forward_type: str = "HTTP"
    session_expire_time: int = 0
    health_check: HealthCheckSpec = field(default_factory=HealthCheckSpec)
    certificate: CertificateBinding | None = None  # SNI listeners only
    default_server: bool = False  # the listener's default domain (DefaultServer)
    http2: bool = False  # domain settings: Http2, Quic
    quic: bool = False


@dataclass(frozen=True)
class DomainAttributes:
    """Domain-level settings of a listener changed by ModifyDomainAttributes (None: kept)."""

    default_server: bool | None = None  # True: this domain becomes the listener's default
    http2: bool | None = None
    quic: bool | None = None
    domains: tuple[str, ...] | None = None  # the domain's names from now on (NewDomains)


@dataclass(frozen=True)
class RedirectSpec:
    """A redirect from a rule of one listener to a rule of another (ManualRewrite): the source
    rule answers `code` with a Location on the target; `take_url` keeps the request's path."""

    source_listener_id: str
    source_rule_id: str
    target_listener_id: str
    target_rule_id: str
    domain: str  # the source rule's domain (SourceDomain)
    code: int = 301
    take_url: bool = False


@dataclass(frozen=True)
class ListenerSpec:
    name: str
    protocol: str
    port: int
    sni: bool = False
    certificate: CertificateBinding | None = None  # HTTPS with SNI off


@dataclass(frozen=True)
class LoadBalancerSpec:
    name: str
    network: Literal["public", "private"] = "public"
    vpc_id: str | None = None
    subnet_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None  # idempotency key: a retried create returns the same CLB


# --- What the cloud holds (read back) ---------------------------------------------------------


@dataclass(frozen=True)
class TargetInfo:
    port: int
    weight: int
    instance_id: str | None = None
    ip: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.instance_id or self.ip or "", self.port)


@dataclass(frozen=True)
class RewriteInfo:
    """Where a rule redirects to (RuleOutput.RewriteTarget)."""

    target_listener_id: str
    target_rule_id: str
    code: int
    take_url: bool


@dataclass(frozen=True)
class RuleInfo:
    id: str  # LocationId
    domain: str
    url: str
    scheduler: str
    forward_type: str
    session_expire_time: int
    health_check: HealthCheckSpec
    certificate: CertificateBinding | None
    targets: tuple[TargetInfo, ...] = ()
    default_server: bool = False  # DefaultServer: the listener's default domain
    http2: bool = False
    quic: bool = False  # QuicStatus QUIC_ACTIVE
    rewrite: RewriteInfo | None = None  # the rule redirects (its RewriteTarget)
    domains: tuple[str, ...] = ()  # a multi-domain rule's Domains (two or more), else empty


@dataclass(frozen=True)
class ListenerInfo:
    id: str
    name: str
    protocol: str
    port: int
    sni: bool
    certificate: CertificateBinding | None
    rules: tuple[RuleInfo, ...] = ()


@dataclass(frozen=True)
class LoadBalancerInfo:
    id: str
    name: str
    network: Literal["public", "private"]
    vips: tuple[str, ...]
    status: int  # 0 creating, 1 normal
    tags: Mapping[str, str] = field(default_factory=dict)
    security_groups: tuple[str, ...] = ()  # SecureGroups, in order
    pass_to_target: bool = False  # LoadBalancerPassToTarget
    delete_protect: bool = False  # AttributeFlags holds DeleteProtect


@dataclass(frozen=True)
class CertificateInfo:
    id: str
    type: CertType
    alias: str
    status: int  # 1 usable
    not_after: str | None = None  # ISO 8601 UTC, e.g. 2027-01-01T00:00:00Z
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, order=True)
class ConfigBinding:
    """A domain (an nginx server) of an HTTP/HTTPS listener a customized configuration is
    bound to."""

    load_balancer_id: str
    listener_id: str
    domain: str


@dataclass(frozen=True)
class CustomizedConfigInfo:
    """A layer-7 customized configuration: its nginx-style text and the domains bound to it."""

    id: str
    name: str
    content: str
    bindings: tuple[ConfigBinding, ...] = ()


@dataclass(frozen=True)
class Upload:
    """What an upload gave: the certificate's ID and whether it is ours. `borrowed`: the SSL
    service answered with an identical certificate already there (`RepeatCertId`) that does
    not carry the tags we upload with, so someone else uploaded it: we may use it, never
    delete it."""

    id: str
    borrowed: bool = False


class CertificateInUse(ProviderError):
    """An upload about to be deleted is still bound to load balancers (`bound`: their IDs)."""

    def __init__(self, certificate_id: str, bound: Sequence[str]) -> None:
        where = ", ".join(bound)
        super().__init__(
            f"certificate {certificate_id} is still bound to {where}: it was kept, and the "
            "next plan shows its deletion again",
            code="CertificateInUse", action="DeleteCertificate",
            hint="something outside this stack uses it (DescribeLoadBalancerListByCertId); "
                 "unbind it there first")
        self.certificate_id = certificate_id
        self.bound = tuple(bound)


class DeleteProtected(ProviderError):
    """The cloud refused to delete a CLB because its delete protection is on."""

    def __init__(self, load_balancer_id: str, request_id: str = "") -> None:
        super().__init__(
            f"load balancer {load_balancer_id} has delete protection on: the cloud refused to "
            "delete it, and it was kept with what is on it; set delete_protection: false on it "
            "in the stack and apply, then delete it",
            code="OperationDenied", action="DeleteLoadBalancer", request_id=request_id,
            hint="mtlsform never turns delete protection off by itself")
        self.load_balancer_id = load_balancer_id


class Provider(Protocol):
    """What the engine needs from a cloud. Every write returns after its task finished."""

    # Reads: each is one batched call (or a few, when the API caps the batch size).
    def read_load_balancers(self, ids: Sequence[str]) -> dict[str, LoadBalancerInfo]:
        """The CLBs that exist among `ids` (missing ones are absent from the result)."""

    def read_listeners(self, load_balancer_id: str) -> dict[str, ListenerInfo] | None:
        """All listeners of a CLB with their rules and targets; None if the CLB is gone."""

    def read_customized_configs(self, ids: Sequence[str]) -> dict[str, CustomizedConfigInfo]:
        """The customized configurations that exist among `ids`, with their bindings."""
        ...

    def read_certificates(self, ids: Sequence[str]) -> dict[str, CertificateInfo]:
        """The uploaded certificates that exist among `ids`."""

    def find_load_balancers(self, tags: Mapping[str, str]) -> dict[str, LoadBalancerInfo]:
        """The CLBs carrying all of `tags` (how a CLB whose record was lost is found again)."""

    # Load balancers
    def create_load_balancer(self, spec: LoadBalancerSpec) -> LoadBalancerInfo: ...
    def rename_load_balancer(self, load_balancer_id: str, name: str) -> None: ...
    def delete_load_balancer(self, load_balancer_id: str) -> None:
        """Deletes a CLB; DeleteProtected when its delete protection is on."""
    def set_security_groups(self, load_balancer_id: str, groups: Sequence[str]) -> None:
        """Binds exactly `groups`, in order (SetLoadBalancerSecurityGroups)."""
    def set_load_balancer_flags(self, load_balancer_id: str, *,
                                pass_to_target: bool | None = None,
                                delete_protect: bool | None = None) -> None:
        """ModifyLoadBalancerAttributes LoadBalancerPassToTarget and DeleteProtect (None:
        unchanged)."""

    # Customized configurations (the TLS policy's object): synchronous writes.
    def create_customized_config(self, name: str, content: str) -> str: ...
    def update_customized_config(self, config_id: str, content: str) -> None: ...
    def delete_customized_config(self, config_id: str) -> None: ...
    def bind_customized_config(self, config_id: str, bindings: Sequence[ConfigBinding],
                               *, bound: bool) -> None:
        """Associates (`bound`) or disassociates these domains."""
        ...

    # Certificates (SSL service)
    def upload_certificate(self, cert_type: CertType, certificate_pem: str,
                           private_key_pem: Sensitive[str] | None, alias: str,
                           tags: Mapping[str, str] | None = None) -> Upload:
        """Uploads with `tags`; for identical content already there, its ID, borrowed unless
        it carries all of `tags`."""

    def rename_certificate(self, certificate_id: str, alias: str) -> None: ...
    def certificate_bindings(self, certificate_id: str) -> list[str]:
        """The load balancers an upload is bound to (DescribeLoadBalancerListByCertId), as
        `lb-x (name)`."""
    def delete_certificate(self, certificate_id: str) -> None:
        """Deletes an upload once it is bound nowhere (CertificateInUse if it still is)."""

    # Listeners
    def create_listener(self, load_balancer_id: str, spec: ListenerSpec) -> str: ...
    def modify_listener(self, load_balancer_id: str, listener_id: str, *,
                        name: str | None = None,
                        certificate: CertificateBinding | None = None,
                        sni: bool | None = None) -> None:
        """Name, certificate (SNI off) and SNI of a listener; `sni=True` switches SNI on in
        place (SniSwitch 1: each domain keeps the certificate the listener had), which the
        cloud never undoes."""
    def delete_listener(self, load_balancer_id: str, listener_id: str) -> None: ...

    # Rules
    def create_rule(self, load_balancer_id: str, listener_id: str, spec: RuleSpec) -> str: ...
    def modify_rule(self, load_balancer_id: str, listener_id: str, rule_id: str,
                    spec: RuleSpec) -> None:
        """Scheduler, backend protocol, session persistence and health check of a rule."""

    def modify_domain_certificate(self, load_balancer_id: str, listener_id: str, domain: str,
                                  certificate: CertificateBinding) -> None:
        """The certificate of one domain of an SNI listener."""

    def modify_domain_attributes(self, load_balancer_id: str, listener_id: str, domain: str,
                                 attributes: DomainAttributes) -> None:
        """Domain-level settings (the default domain, HTTP/2, QUIC) of every rule of
        `domain`."""

    def delete_rule(self, load_balancer_id: str, listener_id: str, rule_id: str) -> None: ...

    # Redirects between rules (read back as RuleInfo.rewrite)
    def create_redirect(self, load_balancer_id: str, spec: RedirectSpec) -> None: ...
    def delete_redirect(self, load_balancer_id: str, spec: RedirectSpec) -> None:
        """Removes the redirect (gone already counts as done)."""

    # What the data plane serves
    def presented_certificate(self, load_balancer_id: str, listener_id: str, port: int,
                              server_name: str | None) -> str | None:
        """The SHA-256 (lowercase hex) of the leaf certificate a real TLS handshake to the
        listener (at the CLB's VIP and `port`, sending `server_name`) gets; None when the entry
        cannot be reached, or no data plane can be reached from here at all."""

    def presentation_wait(self) -> float:
        """Seconds a data plane may go on presenting the previous certificate after a switch
        (presented_certificate is asked again meanwhile); 0 when its answer is final at once."""

    def client_accepted(self, load_balancer_id: str, listener_id: str, port: int,
                        server_name: str | None, certificate_pem: str,
                        private_key_pem: Sensitive[str]) -> bool | None:
        """Whether the listener (where presented_certificate reaches it) answers a request
        made with this client certificate in a real mutual-TLS handshake: True; False when it
        refuses it; None when no handshake reaches it, or no data plane can be reached."""

    # Targets (at most 20 per call: the provider splits larger lists). `seat`: the caller's
    # place among writes of the same action to the same rule started together (see
    # providers/together.py): the provider waits for those still coming, to share calls.
    def register_targets(self, load_balancer_id: str, listener_id: str, rule_id: str,
                         targets: Sequence[TargetSpec], *, seat: Seat | None = None) -> None: ...
    def deregister_targets(self, load_balancer_id: str, listener_id: str, rule_id: str,
                           targets: Sequence[TargetSpec], *, seat: Seat | None = None) -> None: ...
    def modify_target_weights(self, load_balancer_id: str, listener_id: str, rule_id: str,
                              targets: Sequence[TargetSpec], *,
                              seat: Seat | None = None) -> None: ...
