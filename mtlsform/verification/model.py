"""What `verify` checks and what it found: plain frozen values, no I/O.

An `Entry` is one domain of one HTTPS listener, with everything needed to probe it: where to
connect, which server certificate to expect, the client certificate to present, the CA that
signs client certificates (for the expired one), and the rules (URL, scheduler, backends with
their weights). `CheckResult` is one line of the report; `Report` is the whole outcome. The
report's table (its column titles, and each result's cells) is defined here too, so the CLI
renders it without naming what the columns hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mtlsform.sensitive import Sensitive

Status = Literal["pass", "fail", "skip"]
Tolerance = Literal["exact", "statistical"]

# Check ids, in the order they run and are reported; the letters are the (a)-(d).
SERVER_CERTIFICATE = "server-certificate"
REQUEST = "request"
NO_CLIENT_CERTIFICATE = "no-client-certificate"
UNKNOWN_CA = "unknown-ca"
EXPIRED_CERTIFICATE = "expired-certificate"
BALANCE = "balance"
DEFAULT_DOMAIN = "default-domain"
OPTIONAL_CLIENT = "optional-client-certificate"
TLS_VERSIONS = "tls-versions"
WEAK_CIPHER = "weak-cipher"
REDIRECT = "redirect"  # verification/redirects.py
DUAL_CERTIFICATES = "dual-certificates"  # verification/dualcerts.py

CHECKS = {
    SERVER_CERTIFICATE: ("a", "server certificate"),
    REQUEST: ("b", "request answered by a bound backend"),
    NO_CLIENT_CERTIFICATE: ("c", "refuses no client certificate"),
    UNKNOWN_CA: ("c", "refuses an unknown CA"),
    EXPIRED_CERTIFICATE: ("c", "refuses an expired certificate"),
    BALANCE: ("d", "spread over the backends"),
    DEFAULT_DOMAIN: ("a", "default domain's certificate without SNI"),
    OPTIONAL_CLIENT: ("c", "lets a client without a certificate through"),
    TLS_VERSIONS: ("e", "refuses TLS versions the policy forbids"),
    WEAK_CIPHER: ("e", "refuses a weak cipher the policy forbids"),
    REDIRECT: ("f", "redirect status and location"),
    DUAL_CERTIFICATES: ("a", "each of the dual certificates offered"),
}


# The report's table: column titles in order, and the ones never wrapped in a narrow terminal.
REPORT_COLUMNS = ("listener", "domain", "check", "result", "reason")
UNWRAPPED_COLUMNS = frozenset({"check", "result"})
Cells = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class ClientIdentity:
    """A client certificate to present: the leaf, its intermediates and its key."""

    label: str  # for people: "client" (the stack's), "a throwaway certificate from ..."
    certificate_pem: str
    chain_pem: str
    private_key_pem: Sensitive[str]


@dataclass(frozen=True)
class SigningCa:
    """A client CA of the stack: its certificate (and chain), and its key when the state has it."""

    name: str
    certificate_pem: str
    chain_pem: str = ""
    private_key_pem: Sensitive[str] | None = None


@dataclass(frozen=True)
class ServerExpectation:
    """The server certificate a domain must present, and what to verify it against.

    `trust_pem` holds the anchors (the stack's root CA, else the top of the certificate's
    chain, else the certificate itself); `partial_chain` is set when an anchor is not a root.
    """

    name: str
    fingerprint: str  # SHA-256 of the DER, lower-case hex
    trust_pem: str
    trust_label: str
    partial_chain: bool = False
    key_algorithm: str = ""  # "rsa", "ecdsa", ... (what a client must accept to get it)


@dataclass(frozen=True)
class ExpectedBackend:
    """A backend bound to a rule, with its weight there and how it can be recognised."""

    name: str
    weight: int
    port: int
    instance_id: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class RouteSpec:
    """One forwarding rule of a domain: the URL prefix requested and the bound backends."""

    url: str
    scheduler: str = "WRR"
    backends: tuple[ExpectedBackend, ...] = ()
    backend_protocol: str = "HTTP"


@dataclass(frozen=True)
class Entry:
    """One domain of one HTTPS listener, as the checks probe it."""

    listener: str
    domain: str
    server_name: str  # SNI and Host sent (the domain, or a name a wildcard domain matches)
    host: str  # where to connect
    port: int
    mutual: bool
    server: ServerExpectation | None
    routes: tuple[RouteSpec, ...] = ()
    client: ClientIdentity | None = None  # presented in (a), (b) and (d) in mutual mode
    client_ca: SigningCa | None = None
    listener_id: str | None = None
    skip_reason: str | None = None  # set when the domain cannot be probed at all
    server_skip: str | None = None  # why (a) cannot compare what is presented (no PEM here)
    without_sni: bool = False  # the default domain, probed without SNI too
    verify_optional: bool = False  # verify_client: optional: no certificate gets through
    # The stack's TLS policy of the listener or domain: versions and ciphers accepted (e).
    protocols: tuple[str, ...] | None = None
    ciphers: tuple[str, ...] = ()
    # Dual certificates: every server certificate the domain serves (the first is `server`).
    dual: tuple[ServerExpectation, ...] = ()

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report."""

    listener: str
    domain: str
    check: str  # one of CHECKS
    status: Status
    reason: str
    url: str | None = None  # the rule's URL for per-rule checks (b, d)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def letter(self) -> str:
        return CHECKS[self.check][0]

    @property
    def title(self) -> str:
        return CHECKS[self.check][1]

    def cells(self) -> Cells:
        """The result as a row of the report's table (REPORT_COLUMNS)."""
        domain = self.domain + (self.url if self.url not in (None, "/") else "")
        return (self.listener, domain, f"{self.letter} {self.title}", self.status, self.reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "listener": self.listener,
            "domain": self.domain,
            "url": self.url,
            "check": self.check,
            "letter": self.letter,
            "title": self.title,
            "result": self.status,
            "reason": self.reason,
            "details": self.details,
        }


@dataclass(frozen=True)
class Report:
    """Everything `verify` found, with where it connected."""

    stack: str
    results: tuple[CheckResult, ...]
    requests: int
    tolerance: Tolerance
    connections: tuple[tuple[str, str, str], ...] = ()  # (listener, host:port, how chosen)

    @property
    def passed(self) -> bool:
        return all(r.status != "fail" for r in self.results)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "stack": self.stack,
            "passed": self.passed,
            "summary": {s: self.count(s) for s in ("pass", "fail", "skip")},
            "requests": self.requests,
            "tolerance": self.tolerance,
            "connections": [{"listener": li, "address": addr, "source": how}
                            for li, addr, how in self.connections],
            "checks": [r.to_json() for r in self.results],
        }
