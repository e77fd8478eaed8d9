"""The stack model: the typed, checked form of a stack file, as the engine reads it.

Everything here is plain frozen data built by the loader (`mtlsform.stack.load_stack`) after the
schema and the semantic checks passed. Variables are already substituted. Each object keeps the
position of its own mapping and of each of its keys' values, so later checks (certificates,
plan-time problems) can point at the exact place in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mtlsform.addresses import rule_key
from mtlsform.diagnostics import Position

if TYPE_CHECKING:
    from mtlsform.stack.tlspolicy import TlsPolicy

KeyType = Literal["rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384"]
CertificateType = Literal["ca", "server", "client"]
TlsMode = Literal["one-way", "mutual"]
Scheduler = Literal["WRR", "LEAST_CONN", "IP_HASH"]
BackendProtocol = Literal["HTTP", "HTTPS", "GRPC", "GRPCS"]
ListenerProtocol = Literal["HTTP", "HTTPS"]
Network = Literal["public", "private"]
ProviderKind = Literal["emulator", "tencentcloud"]
StateBackendKind = Literal["local", "pg", "cos"]


@dataclass(frozen=True)
class Positions:
    """Where an object and each of its fields were written.

    `at("issuer")` is the position of the value of key `issuer`; nested keys use dots
    (`at("subject.common_name")`). Unknown keys fall back to the object's own position.
    """

    own: Position | None = None
    fields: Mapping[str, Position] = field(default_factory=dict)

    def at(self, key: str = "") -> Position | None:
        if not key:
            return self.own
        return self.fields.get(key, self.own)


@dataclass(frozen=True)
class ProviderConfig:
    kind: ProviderKind = "emulator"
    region: str | None = None  # None: TENCENTCLOUD_REGION, else the provider's default
    endpoint: str | None = None  # e.g. http://127.0.0.1:9000 (scheme optional, https default)
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class StateBackendConfig:
    """The stack's `backend:` block: where its state is kept (never credentials)."""

    kind: StateBackendKind = "local"
    conn_str_env: str | None = None  # pg: the variable holding the connection string
    schema_name: str | None = None  # pg
    bucket: str | None = None  # cos
    prefix: str | None = None  # cos
    region: str | None = None  # cos
    endpoint: str | None = None  # cos: an S3-compatible endpoint
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class Subject:
    common_name: str
    organization: str | None = None
    organizational_unit: str | None = None
    country: str | None = None
    state: str | None = None
    locality: str | None = None


@dataclass(frozen=True)
class CertificateFiles:
    """An imported certificate: paths are resolved relative to the stack file's directory."""

    certificate: Path
    private_key: Path | None = None
    chain: Path | None = None
    # Name of an environment variable holding the private key's passphrase, if it is encrypted.
    passphrase_env: str | None = None


@dataclass(frozen=True)
class Export:
    """Where the client side's files are written after apply (dir relative to the stack file)."""

    dir: Path
    pkcs12: bool = False
    legacy_pkcs12: bool = False
    outside_stack_folder: bool = False  # allows a dir outside the stack's folder


@dataclass(frozen=True)
class Rollover:
    """A client-CA rollover in progress: the new CA's settings (None: the CA's own) and when
    the old CA is retired ("auto": once its last client certificate expires; else an ISO 8601
    date or date and time, UTC unless it says otherwise)."""

    subject: Subject | None = None
    key: KeyType | None = None
    validity_days: int | None = None
    retire: str = "auto"
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class Certificate:
    name: str
    type: CertificateType
    # Generated certificates have a subject; imported ones (files set) take theirs from the file.
    subject: Subject | None = None
    key: KeyType = "rsa-2048"
    issuer: str | None = None  # name of a `ca` certificate of this stack; None: self-signed CA
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    validity_days: int = 365  # the loader defaults a CA to 3650
    renew_before_days: int = 30
    path_length: int | None = 0  # CA only; None means unlimited
    files: CertificateFiles | None = None
    export: Export | None = None
    # An upload the SSL service already holds, used by its certificate ID (`id:`): no local
    # material, never uploaded, renewed or deleted by the stack.
    id: str | None = None
    rollover: Rollover | None = None  # ca only: the new CA a staged rollover moves to
    positions: Positions = field(default_factory=Positions)

    @property
    def imported(self) -> bool:
        return self.files is not None

    @property
    def existing(self) -> bool:
        """Referenced by its certificate ID in the SSL service (`id:`)."""
        return self.id is not None

    def rolled(self) -> Certificate:
        """This CA as its rollover makes it (itself without one): the new CA's settings."""
        if self.rollover is None:
            return self
        return replace(self, subject=self.rollover.subject or self.subject,
                       key=self.rollover.key or self.key,
                       validity_days=self.rollover.validity_days or self.validity_days,
                       rollover=None)


@dataclass(frozen=True)
class LoadBalancer:
    name: str  # the stack's key, e.g. "web"
    display_name: str | None = None  # `name:` in YAML: the CLB's LoadBalancerName
    network: Network = "public"
    id: str | None = None  # adopt an existing CLB: never created or deleted by the stack
    vpc_id: str | None = None
    subnet_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    positions: Positions = field(default_factory=Positions)
    # Managed only when given (None: left as the cloud has it): SetLoadBalancerSecurityGroups,
    # ModifyLoadBalancerAttributes LoadBalancerPassToTarget and DeleteProtect.
    security_groups: tuple[str, ...] | None = None
    pass_to_target: bool | None = None
    delete_protection: bool | None = None

    @property
    def adopted(self) -> bool:
        return self.id is not None


@dataclass(frozen=True)
class Backend:
    """A real server: a CVM instance (`instance`) or an IP address (`ip`), exactly one of them."""

    name: str
    port: int
    instance: str | None = None
    ip: str | None = None
    weight: int = 10
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class Tls:
    """Listener TLS (SNI off) or per-domain TLS (SNI on)."""

    mode: TlsMode = "one-way"
    certificate: str | None = None  # name of a server certificate of this stack
    # `certificate` written as a list (dual certificates, MultiCertInfo): the names after the
    # first, served beside it; the pre-flight checks allow one, of another key algorithm.
    extra_certificates: tuple[str, ...] = ()
    client_ca: str | None = None  # name of a CA certificate of this stack (mutual mode)
    # Mutual mode: "required" (SSLVerifyClient ON) or "optional" (OPTIONAL: a client without
    # a certificate gets through, and the backend sees that it had none).
    verify_client: Literal["required", "optional"] = "required"
    # `client_ca` written as a list: the names after the first (refused by the pre-flight
    # checks: CLB binds one client CA, CertCaId, to a listener or domain).
    extra_client_cas: tuple[str, ...] = ()
    positions: Positions = field(default_factory=Positions)
    policy: TlsPolicy | None = None  # versions and ciphers (stack/tlspolicy.py)

    @property
    def servers(self) -> tuple[str, ...]:
        """The server certificates it names: `certificate`, then any dual one."""
        return (self.certificate, *self.extra_certificates) if self.certificate else ()


def default_check_type(backend_protocol: str) -> str:
    """CLB's health check type (CheckType) for a rule that names none: the backend's."""
    return {"HTTPS": "HTTPS", "GRPC": "GRPC", "GRPCS": "GRPC"}.get(backend_protocol, "HTTP")


@dataclass(frozen=True)
class HealthCheck:
    enabled: bool = True
    path: str = "/"
    interval: int = 5
    timeout: int = 2
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    http_codes: tuple[str, ...] = ("2xx", "3xx")  # each of 1xx..5xx
    method: Literal["HEAD", "GET"] = "HEAD"
    domain: str | None = None  # Host header of the check; None: the rule's domain
    # CheckType; None: what CLB uses for the backend protocol (default_check_type)
    check_type: Literal["HTTP", "HTTPS", "GRPC"] | None = None
    source_ip: Literal["vip", "private"] = "vip"  # SourceIpType 0 or 1
    grpc_codes: str | None = None  # ExtendedCode, with check_type GRPC; None: CLB's "12"
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class RuleBackend:
    """A backend bound to a rule; `weight` overrides the backend's own weight when set."""

    backend: str
    weight: int | None = None
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class Redirect:
    """`redirect:` on a rule: it answers `code` with a Location on the rule of `listener` with
    this rule's domain and `url` (default: this rule's URL); `take_url` keeps the request's
    path. The `redirect` resource type (ManualRewrite)."""

    listener: str
    url: str | None = None
    code: int = 301
    take_url: bool = False
    positions: Positions = field(default_factory=Positions)


@dataclass(frozen=True)
class Rule:
    domain: str  # the first domain of a multi-domain rule: it names the rule
    url: str = "/"
    scheduler: Scheduler = "WRR"
    backend_protocol: BackendProtocol = "HTTP"
    session_persistence: int = 0
    health_check: HealthCheck = field(default_factory=HealthCheck)
    backends: tuple[RuleBackend, ...] = ()
    tls: Tls | None = None  # SNI on: this domain's certificate
    positions: Positions = field(default_factory=Positions)
    # Domain settings (every rule of the domain has the same): HTTP/2 and QUIC (HTTPS only).
    http2: bool = False
    quic: bool = False
    redirect: Redirect | None = None  # the rule redirects to a rule of another listener
    # A multi-domain rule (`domain:` a list of two or more; API Domains): all of them, the
    # first being `domain`. Empty for a rule of one domain.
    domains: tuple[str, ...] = ()

    @cached_property
    def key(self) -> str:  # computed once: the engine looks rules up by it
        return rule_key(self.domain, self.url)

    @property
    def names(self) -> tuple[str, ...]:
        """Every domain the rule serves: its `domains`, or its one `domain`."""
        return self.domains or (self.domain,)


@dataclass(frozen=True)
class Listener:
    name: str  # the stack's key, e.g. "https"
    load_balancer: str
    port: int
    protocol: ListenerProtocol = "HTTPS"
    sni: bool = False
    tls: Tls | None = None  # SNI off: the listener's certificate
    rules: tuple[Rule, ...] = ()
    positions: Positions = field(default_factory=Positions)
    display_name: str | None = None  # `name:`: the ListenerName in the cloud (default: name)
    # The domain a client without SNI (or with a Host no rule matches) gets; None: the
    # domain of the first rule. `clients_without_sni`: the stack declares such clients exist.
    default_domain: str | None = None
    clients_without_sni: bool = False

    @property
    def cloud_name(self) -> str:
        return self.display_name or self.name


def folded_domain(domain: str) -> str:
    """A domain as CLB compares it: without regard to case, except a regex (`~...`)."""
    return domain if domain.startswith("~") else domain.lower()


def redirect_target(rule: Rule, target: Listener, url: str) -> Rule | None:
    """The rule of `target` a redirect of `rule` goes to: the one with `url` that serves the
    rule's domain, else one of its other domains (multi-domain rules)."""
    def folded(names: tuple[str, ...]) -> set[str]:
        return {folded_domain(n) for n in names}

    candidates = [r for r in target.rules if r.url == url]
    first = folded((rule.domain,))
    found = next((r for r in candidates if first & folded(r.names)), None)
    if found is None:
        found = next((r for r in candidates if folded(rule.names) & folded(r.names)), None)
    return found


@dataclass(frozen=True)
class Moved:
    """A `moved:` entry: the address a resource had (`source`) and the one it has now
    (`destination`), as written; the engine parses and checks them (plan/moves.py)."""

    source: str
    destination: str
    positions: Positions = field(default_factory=Positions)  # "from" and "to"


@dataclass(frozen=True)
class Reference:
    """`${type.name.attribute}` inside an output, e.g. load_balancer.web.vip."""

    type: str
    name: str
    attribute: str

    def __str__(self) -> str:
        return f"{self.type}.{self.name}.{self.attribute}"


_TEMPLATE_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")


@dataclass(frozen=True)
class Output:
    name: str
    # The text with ${TYPE.NAME.ATTRIBUTE} references still in it (variables already
    # substituted); `$${` stands for a literal `${`. Use `render` rather than parsing it.
    template: str
    references: tuple[Reference, ...] = ()
    positions: Positions = field(default_factory=Positions)

    def render(self, values: Mapping[str, str]) -> str:
        """The output's text, each reference replaced by `values[str(reference)]`.

        Raises KeyError for a reference missing from `values`.
        """

        def token(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return "${"
            return values[match.group(1).strip()]

        return _TEMPLATE_TOKEN.sub(token, self.template)


@dataclass(frozen=True)
class Stack:
    version: int
    name: str
    path: Path  # the stack file
    provider: ProviderConfig
    variables: Mapping[str, str]
    certificates: Mapping[str, Certificate]
    load_balancers: Mapping[str, LoadBalancer]
    backends: Mapping[str, Backend]
    listeners: Mapping[str, Listener]
    outputs: Mapping[str, Output]
    positions: Positions = field(default_factory=Positions)
    moved: tuple[Moved, ...] = ()  # renames: prior addresses and the ones they now have
    backend: StateBackendConfig = field(default_factory=StateBackendConfig)
    # the environment it is planned for (--workspace): set by the command, never in the file
    workspace: str = "default"

    @property
    def directory(self) -> Path:
        return self.path.parent

    def uploaded_certificates(self) -> dict[str, Literal["SVR", "CA"]]:
        """Certificates the cloud must hold (name -> SSL type), from listener and rule TLS."""
        return uploaded_certificates(self.listeners.values())


def uploaded_certificates(listeners: Iterable[Listener]) -> dict[str, Literal["SVR", "CA"]]:
    """Certificates the cloud must hold for these listeners (name -> SSL type)."""
    uploads: dict[str, Literal["SVR", "CA"]] = {}
    for listener in listeners:
        tls_blocks = [listener.tls] + [rule.tls for rule in listener.rules]
        for tls in tls_blocks:
            if tls is None:
                continue
            for name in tls.servers:
                uploads[name] = "SVR"
            if tls.client_ca and tls.mode == "mutual":
                uploads[tls.client_ca] = "CA"
    return dict(sorted(uploads.items()))
