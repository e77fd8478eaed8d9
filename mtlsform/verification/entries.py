"""From a stack and its state to the entries `verify` probes: one per domain of each HTTPS
listener, with the certificates, client identities and backends it expects.

The stack says what should be (domains, TLS mode, which certificates, backends and weights);
the state says what was made (the load balancer's VIP, the listener's ID, the certificates'
PEM, fingerprints and keys). A stack whose listeners are not in the state has not been applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtlsform.addresses import Address
from mtlsform.errors import StateError
from mtlsform.pki.keys import key_type_of
from mtlsform.stack.model import Listener, Rule, Stack, Tls
from mtlsform.state.model import State
from mtlsform.verification.model import (
    ClientIdentity,
    Entry,
    ExpectedBackend,
    RouteSpec,
    ServerExpectation,
    SigningCa,
)
from mtlsform.verification.throwaway import fresh_client

WILDCARD_PROBE = "mtlsform-verify"  # the label put in place of a leading `*.`


def https_listeners(stack: Stack) -> list[Listener]:
    return [li for li in stack.listeners.values() if li.protocol == "HTTPS"]


def require_applied(stack: Stack, state: State | None, state_path: Path) -> State:
    """The state, if it records every HTTPS listener of the stack and its load balancer."""
    source = stack.path
    hint = f"run `mtlsform apply {source}` first"
    if state is None:
        raise StateError(f"{source} has not been applied: there is no state at {state_path}",
                         hint=hint)
    missing = []
    for listener in https_listeners(stack):
        for address in (Address("load_balancer", listener.load_balancer),
                        Address("listener", listener.name)):
            if state.get(address) is None and str(address) not in missing:
                missing.append(str(address))
    if missing:
        raise StateError(f"{source} has not been applied: the state at {state_path} has no "
                         f"{', '.join(missing)}", hint=hint)
    return state


def server_name_for(domain: str) -> tuple[str | None, str | None]:
    """The host name to send for a rule's domain, or why there is none."""
    if domain.startswith("~"):
        return None, f"the domain {domain} is a regular expression: no host name to test"
    if domain.startswith("*."):
        return f"{WILDCARD_PROBE}.{domain[2:]}", None
    if domain.endswith("*"):
        return None, f"the domain {domain} ends in a wildcard: no host name to test"
    return domain, None


class EntryBuilder:
    """Builds entries from one stack and its state (certificates looked up once each)."""

    def __init__(self, stack: Stack, state: State) -> None:
        self.stack = stack
        self.state = state
        self._fresh: dict[str, ClientIdentity | None] = {}

    def attrs(self, address: Address) -> dict[str, Any] | None:
        resource = self.state.get(address)
        return dict(resource.attributes) if resource is not None else None

    def certificate(self, name: str) -> dict[str, Any] | None:
        return self.attrs(Address("certificate", name))

    def _root_of(self, name: str) -> str:
        seen = {name}
        while (issuer := self.stack.certificates[name].issuer) and issuer not in seen:
            seen.add(issuer)
            name = issuer
        return name

    def server_expectation(self, name: str | None) -> ServerExpectation | None:
        from cryptography import x509

        attrs = self.certificate(name) if name else None
        if name is None or attrs is None:
            return None
        root = self._root_of(name)
        root_attrs = self.certificate(root) if root != name else None
        if root_attrs is not None:
            anchor_pem = root_attrs["certificate_pem"]
            label = f"the stack's CA {root}"
        else:
            chain = x509.load_pem_x509_certificates(attrs["chain_pem"].encode()) \
                if (attrs.get("chain_pem") or "").strip() else []
            top = chain[-1] if chain else None
            if top is not None:
                from cryptography.hazmat.primitives.serialization import Encoding

                anchor_pem = top.public_bytes(Encoding.PEM).decode("ascii")
                cn = top.subject.rfc4514_string()
                label = f"the top of its chain ({cn})"
            else:
                anchor_pem = attrs["certificate_pem"]
                label = "itself (the stack has no CA for it)"
        anchor = x509.load_pem_x509_certificate(anchor_pem.encode())
        leaf = x509.load_pem_x509_certificate(attrs["certificate_pem"].encode())
        return ServerExpectation(name=name, fingerprint=attrs["fingerprint"],
                                 trust_pem=anchor_pem, trust_label=label,
                                 partial_chain=anchor.subject != anchor.issuer,
                                 key_algorithm=key_type_of(leaf.public_key()).split("-")[0])

    def dual(self, tls: Tls | None) -> tuple[ServerExpectation, ...]:
        """Every server certificate of a dual-certificate `tls` whose PEM the state holds."""
        if tls is None or not tls.extra_certificates:
            return ()
        found = [self.server_expectation(name) for name in tls.servers]
        return tuple(expected for expected in found if expected is not None)

    def referenced(self, name: str | None) -> str | None:
        """Why check (a) has nothing to compare with, for a certificate referenced by its ID."""
        spec = self.stack.certificates.get(name) if name else None
        if spec is None or not spec.existing:
            return None
        return (f"certificate {name} is referenced by its ID ({spec.id}): its PEM stays in the "
                "SSL service, so there is no fingerprint to compare what is presented with")

    def signing_ca(self, name: str | None) -> SigningCa | None:
        attrs = self.certificate(name) if name else None
        if name is None or attrs is None:
            return None
        return SigningCa(name, attrs["certificate_pem"], attrs.get("chain_pem") or "",
                         attrs.get("private_key_pem"))

    def _issued_by(self, cert_name: str, ca_name: str) -> bool:
        seen: set[str] = set()
        issuer = self.stack.certificates[cert_name].issuer
        while issuer and issuer not in seen:
            if issuer == ca_name:
                return True
            seen.add(issuer)
            issuer = self.stack.certificates[issuer].issuer
        return False

    def client_identity(self, ca: SigningCa | None) -> ClientIdentity | None:
        """The stack's first client certificate issued (directly or not) by the CA; if there is
        none, a throwaway one signed with the CA's key."""
        if ca is None:
            return None
        for name, spec in sorted(self.stack.certificates.items()):
            if spec.type != "client" or not self._issued_by(name, ca.name):
                continue
            attrs = self.certificate(name)
            if attrs and attrs.get("private_key_pem") is not None:
                return ClientIdentity(f"the stack's client certificate {name}",
                                      attrs["certificate_pem"], attrs.get("chain_pem") or "",
                                      attrs["private_key_pem"])
        if ca.name not in self._fresh:
            self._fresh[ca.name] = fresh_client(ca)
        return self._fresh[ca.name]

    def route(self, rule: Rule) -> RouteSpec:
        backends = []
        for bound in rule.backends:
            backend = self.stack.backends[bound.backend]
            weight = bound.weight if bound.weight is not None else backend.weight
            backends.append(ExpectedBackend(backend.name, weight, backend.port,
                                            instance_id=backend.instance, ip=backend.ip))
        return RouteSpec(rule.url, rule.scheduler, tuple(backends), rule.backend_protocol)

    def entries(self, listener: Listener) -> list[Entry]:
        lb = self.attrs(Address("load_balancer", listener.load_balancer)) or {}
        recorded = self.attrs(Address("listener", listener.name)) or {}
        by_domain: dict[str, list[Rule]] = {}
        for rule in listener.rules:
            for name in rule.names:  # each domain of a multi-domain rule is checked
                by_domain.setdefault(name, []).append(rule)
        entries = []
        # The default domain is probed without SNI when the stack says which it is, or that
        # clients may come without SNI.
        declared = listener.default_domain is not None or listener.clients_without_sni
        default = next((d for d in by_domain if listener.default_domain is None
                        or d.lower() == listener.default_domain.lower()), None)
        for domain, rules in by_domain.items():
            tls: Tls | None = listener.tls if not listener.sni else rules[0].tls
            mutual = tls is not None and tls.mode == "mutual"
            ca = self.signing_ca(tls.client_ca) if mutual and tls else None
            server_name, skip = server_name_for(domain)
            if tls is None or tls.certificate is None:
                skip = skip or "no server certificate is configured for this domain"
            entries.append(Entry(
                server_skip=self.referenced(tls.certificate if tls else None),
                listener=listener.name, domain=domain, server_name=server_name or domain,
                host=lb.get("vip") or "", port=listener.port, mutual=mutual,
                server=self.server_expectation(tls.certificate if tls else None),
                routes=tuple(self.route(rule) for rule in rules),
                client=self.client_identity(ca) if mutual else None, client_ca=ca,
                listener_id=recorded.get("id"), skip_reason=skip,
                without_sni=listener.sni and domain == default and declared,
                verify_optional=mutual and tls is not None and tls.verify_client == "optional",
                protocols=tls.policy.protocols if tls and tls.policy else None,
                ciphers=tls.policy.cipher_list if tls and tls.policy else (),
                dual=self.dual(tls)))
        return entries


def entries_from(stack: Stack, state: State) -> list[Entry]:
    """Every entry of the stack's HTTPS listeners, in stack order (the VIP as host)."""
    builder = EntryBuilder(stack, state)
    return [entry for listener in https_listeners(stack) for entry in builder.entries(listener)]
