"""rule: a forwarding rule (domain + URL) of a listener; its health check, balancing and
session persistence change in place (ModifyRule), its SNI certificate too (ModifyDomainAttributes).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from mtlsform.addresses import Address, rule_key
from mtlsform.providers.base import (
    DomainAttributes,
    HealthCheckSpec,
    Provider,
    RuleInfo,
    RuleSpec,
)
from mtlsform.references import Ref
from mtlsform.resources.base import ApplyContext, Attributes, CloudSnapshot, ResourceType
from mtlsform.resources.listener import LISTENER, LISTENERS, find_listener
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.presenting import confirm_presented, server_name_for
from mtlsform.resources.shape import nullable, optional
from mtlsform.resources.tls import (
    DUAL,
    TLS_ATTRIBUTES,
    TLS_RECORDED,
    binding,
    binding_attributes,
    tls_changed,
    tls_config,
)
from mtlsform.resources.trust_probe import confirm_trusted
from mtlsform.stack.model import (
    HealthCheck,
    Listener,
    Rule,
    Stack,
    default_check_type,
    folded_domain,
)

HTTP_CODE_BITS = {"1xx": 1, "2xx": 2, "3xx": 4, "4xx": 8, "5xx": 16}
RULE_SETTINGS = ("scheduler", "backend_protocol", "session_persistence", "health_check")
# Settings of the rule's whole domain (every rule of it), changed with ModifyDomainAttributes.
DOMAIN_SETTINGS = ("default_server", "http2", "quic", "domains")
# A multi-domain rule's domains (API Domains), recorded only for such a rule: the plans and
# states of rules of one domain do not show it (`ResourceType.absent_as_none`).
DOMAINS = "domains"
# A health check as recorded: `{"enabled": false}` alone when it is off.
HEALTH_CHECK_RECORDED = {
    "enabled": bool, "path": optional(str), "interval": optional(int),
    "timeout": optional(int), "healthy_threshold": optional(int),
    "unhealthy_threshold": optional(int), "http_codes": optional([str]),
    "method": optional(str), "domain": optional(nullable(str)),
    "type": optional(str), "source_ip": optional(str), "grpc_codes": optional(str),
}


def find_rule(stack: Stack, address: Address) -> Rule:
    listener = stack.listeners[address.name]
    for rule in listener.rules:
        if rule.key == address.key:
            return rule
    raise KeyError(str(address))


DEFAULT_GRPC_CODES = "12"  # CLB's ExtendedCode when a GRPC check names none
SOURCE_IPS = {"vip": 0, "private": 1}  # SourceIpType


def health_check_config(check: HealthCheck, rule_domain: str,
                        forward_type: str) -> dict[str, Any]:
    """The stack's health check as rule attributes (the same shape the cloud is read into)."""
    spec = HealthCheckSpec(
        enabled=check.enabled, path=check.path, interval=check.interval, timeout=check.timeout,
        healthy_threshold=check.healthy_threshold,
        unhealthy_threshold=check.unhealthy_threshold,
        http_code_mask=sum(HTTP_CODE_BITS[c] for c in set(check.http_codes)),
        method=check.method, domain=check.domain, check_type=check.check_type,
        source_ip_type=SOURCE_IPS[check.source_ip], extended_code=check.grpc_codes,
    )
    return health_check_attributes(spec, rule_domain, forward_type)


def health_check_spec(config: Mapping[str, Any], forward_type: str) -> HealthCheckSpec:
    if not config.get("enabled"):
        return HealthCheckSpec(enabled=False)
    check_type = config.get("type") or default_check_type(forward_type)
    return HealthCheckSpec(
        enabled=True,
        path=config["path"],
        interval=config["interval"],
        timeout=config["timeout"],
        healthy_threshold=config["healthy_threshold"],
        unhealthy_threshold=config["unhealthy_threshold"],
        http_code_mask=sum(HTTP_CODE_BITS[c] for c in config["http_codes"]),
        method=config["method"],
        domain=config.get("domain"),
        check_type=check_type,
        source_ip_type=SOURCE_IPS[config.get("source_ip") or "vip"],
        extended_code=(config.get("grpc_codes") or DEFAULT_GRPC_CODES)
        if check_type == "GRPC" else None,
    )


def health_check_attributes(spec: HealthCheckSpec, rule_domain: str,
                            forward_type: str) -> dict[str, Any]:
    """A check as recorded. The check's type, source and gRPC codes appear only where they
    differ from what CLB does without them, so that a check that names none (every check
    recorded before they existed) reads back as it was recorded."""
    if not spec.enabled:
        return {"enabled": False}
    attrs: dict[str, Any] = {
        "enabled": True,
        "path": spec.path,
        "interval": spec.interval,
        "timeout": spec.timeout,
        "healthy_threshold": spec.healthy_threshold,
        "unhealthy_threshold": spec.unhealthy_threshold,
        "http_codes": sorted(c for c, bit in HTTP_CODE_BITS.items() if spec.http_code_mask & bit),
        "method": spec.method,
        "domain": spec.domain if spec.domain not in (None, "", rule_domain) else None,
    }
    check_type = spec.check_type or default_check_type(forward_type)
    if check_type != default_check_type(forward_type):
        attrs["type"] = check_type
    if spec.source_ip_type == 1:
        attrs["source_ip"] = "private"
    codes = spec.extended_code or DEFAULT_GRPC_CODES
    if check_type == "GRPC" and codes != DEFAULT_GRPC_CODES:
        attrs["grpc_codes"] = codes
    return attrs


def rule_attributes(info: RuleInfo, load_balancer_id: str | None, listener_id: str,
                    sni: bool) -> Attributes:
    attrs = {
        "id": info.id,
        "load_balancer_id": load_balancer_id,
        "listener_id": listener_id,
        "domain": info.domain,
        "url": info.url,
        "scheduler": info.scheduler,
        "backend_protocol": info.forward_type,
        "session_persistence": info.session_expire_time,
        "health_check": health_check_attributes(info.health_check, info.domain,
                                                info.forward_type),
        **binding_attributes(info.certificate if sni else None),
        "default_server": info.default_server,
        "http2": info.http2,
        "quic": info.quic,
    }
    if info.domains:
        attrs[DOMAINS] = list(info.domains)
    return attrs


def in_recorded_order(attrs: Attributes, prior: Mapping[str, Any]) -> Attributes:
    """A multi-domain rule's names as recorded when the cloud holds the same ones in another
    order (the API does not promise to keep it; its first is then not the stack's first)."""
    names, recorded = attrs.get(DOMAINS), prior.get(DOMAINS)
    if names and recorded and names != recorded and \
            sorted(map(folded_domain, names)) == sorted(map(folded_domain, recorded)):
        attrs = {**attrs, DOMAINS: list(recorded), "domain": prior.get("domain")}
    return attrs


def domain_attributes(values: Mapping[str, Any],
                      changed: Sequence[str]) -> DomainAttributes | None:
    """The domain settings an update changes (one ModifyDomainAttributes), or None. Becoming
    the default takes the role from the domain that had it; losing it needs no call (that
    domain's own update, or create, takes it over)."""
    settings = DomainAttributes(
        default_server=True if "default_server" in changed and values.get("default_server")
        else None,
        http2=bool(values.get("http2")) if "http2" in changed else None,
        quic=bool(values.get("quic")) if "quic" in changed else None,
        domains=tuple(values.get(DOMAINS) or (values["domain"],)) if DOMAINS in changed
        else None,
    )
    return settings if settings != DomainAttributes() else None


def is_default_domain(listener: Listener, rule: Rule) -> bool:
    """Whether the rule's domain is the listener's default domain: its `default_domain` (any
    name of a multi-domain rule), else the domain of its first rule (what a client without
    SNI, or with an unknown Host, gets)."""
    default = listener.default_domain or (listener.rules[0].domain if listener.rules else None)
    return default is not None and default.lower() in {name.lower() for name in rule.names}


def rule_spec(values: Mapping[str, Any]) -> RuleSpec:
    return RuleSpec(
        domain=values["domain"],
        url=values["url"],
        domains=tuple(values.get(DOMAINS) or ()),
        scheduler=values["scheduler"],
        forward_type=values["backend_protocol"],
        session_expire_time=values["session_persistence"],
        health_check=health_check_spec(values["health_check"], values["backend_protocol"]),
        certificate=binding(values),
        default_server=bool(values.get("default_server")),
        http2=bool(values.get("http2")),
        quic=bool(values.get("quic")),
    )


class RuleType(ResourceType):
    name = "rule"
    cascade_parent = LISTENER.name
    collections = (LISTENERS,)
    force_new = frozenset({"load_balancer_id", "listener_id", "domain", "url"})
    updatable = frozenset(RULE_SETTINGS) | frozenset(TLS_ATTRIBUTES) | frozenset(DOMAIN_SETTINGS)
    absent_as_none = frozenset({DUAL, DOMAINS})
    recorded = {
        "id": str, "load_balancer_id": str, "listener_id": str, "domain": str, "url": str,
        "scheduler": str, "backend_protocol": str, "session_persistence": int,
        "health_check": HEALTH_CHECK_RECORDED, **TLS_RECORDED,
        "default_server": optional(bool), "http2": optional(bool), "quic": optional(bool),
        DOMAINS: optional([str]),
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name, rule.key)
                for name, listener in stack.listeners.items() for rule in listener.rules]

    def config(self, stack: Stack, address: Address) -> Attributes:
        listener = stack.listeners[address.name]
        rule = find_rule(stack, address)
        listener_address = Address(LISTENER.name, listener.name)
        attrs = {
            "load_balancer_id": Ref(Address(LOAD_BALANCER.name, listener.load_balancer), "id"),
            "listener_id": Ref(listener_address, "id"),
            "domain": rule.domain,
            "url": rule.url,
            "scheduler": rule.scheduler,
            "backend_protocol": rule.backend_protocol,
            "session_persistence": rule.session_persistence,
            "health_check": health_check_config(rule.health_check, rule.domain,
                                                rule.backend_protocol),
            **tls_config(rule.tls if listener.sni else None),
            "default_server": is_default_domain(listener, rule),
            "http2": rule.http2,
            "quic": rule.quic,
        }
        if rule.domains:
            attrs[DOMAINS] = list(rule.domains)
        return attrs

    def natural_key(self, attrs: Mapping[str, Any]) -> Hashable:
        return (attrs.get("domain"), attrs.get("url"))

    def exclusive_keys(self, attrs: Mapping[str, Any]) -> frozenset[Hashable]:
        """Each domain, on its listener: a rule that takes a domain another rule gives up (a
        multi-domain list split, merged or reordered) waits for it. Not the URL: a change of
        one rule's list renames its whole domain (every rule of it, every URL)."""
        names = attrs.get(DOMAINS) or [attrs.get("domain")]
        return frozenset(("domain", attrs.get("listener_id"), folded_domain(str(name)))
                         for name in names if name is not None)

    def import_id(self, attrs: Mapping[str, Any]) -> str:
        from mtlsform.resources.import_ids import join_id

        return join_id(attrs.get("load_balancer_id"), attrs.get("listener_id"), attrs.get("id"))

    def claimants(self, provider: Provider, stack: Stack,
                  attrs: Mapping[str, Any]) -> list[str]:
        from mtlsform.resources.ownership import listener_claimants

        return listener_claimants(provider, stack, attrs.get("load_balancer_id"),
                                  attrs.get("listener_id"))

    def import_(self, provider: Provider, stack: Stack, address: Address, ident: str,
                recorded: Callable[[Address], Mapping[str, Any] | None]) -> Attributes:
        from mtlsform.resources.import_ids import refuse, split_id

        lb_id, listener_id, rule_id = split_id(
            address, ident, ("lb-", "lbl-", "loc-"), "rule",
            "lb-0a1b2c3d#lbl-0a1b2c3d#loc-0a1b2c3d")
        check_parent_listener(address, (lb_id, listener_id), recorded)
        info = cloud_rule(provider, lb_id, listener_id, rule_id)
        if info is None:
            raise refuse(address, f"listener {listener_id} of {lb_id} has no rule {rule_id}",
                         hint="list its rules in the console (or DescribeListeners)")
        rule = find_rule(stack, address)
        if (info.domain, info.url) != (rule.domain, rule.url):
            other = Address(self.name, address.name, rule_key(info.domain, info.url))
            raise refuse(address, f"rule {rule_id} is for {info.domain}{info.url}, but the "
                         f"stack declares {rule.domain}{rule.url} at this address",
                         hint=f"import it as {other}")
        sni = bool(stack.listeners[address.name].sni)
        return rule_attributes(info, lb_id, listener_id, sni)

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        source = prior if prior is not None else (desired or {})
        lb_id, listener_id = source.get("load_balancer_id"), source.get("listener_id")
        listener = find_listener(cloud, lb_id, listener_id)
        if listener is None:
            return None
        if prior is not None:  # recorded: found by its ID, the only rule it builds
            ident = source.get("id")
            found = next((info for info in listener.rules if info.id == ident), None)
            if found is None:
                return None
            return in_recorded_order(rule_attributes(found, lb_id, listener.id, listener.sni),
                                     prior)
        wanted = self.natural_key(source)
        for info in listener.rules:
            attrs = rule_attributes(info, lb_id, listener.id, listener.sni)
            if self.natural_key(attrs) == wanted:
                return attrs
        return None

    def under(self, cloud: CloudSnapshot, parent: Address,
              parent_attrs: Mapping[str, Any]) -> list[tuple[Address, Attributes]]:
        lb_id = parent_attrs.get("load_balancer_id")
        listener = find_listener(cloud, lb_id, parent_attrs.get("id"))
        if listener is None:
            return []
        return [(Address(self.name, parent.name, rule_key(info.domain, info.url)),
                 rule_attributes(info, lb_id, listener.id, listener.sni))
                for info in listener.rules]

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        rule_id = ctx.provider.create_rule(
            values["load_balancer_id"], values["listener_id"], rule_spec(values)
        )
        return {**values, "id": rule_id}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        lb_id, listener_id = values["load_balancer_id"], values["listener_id"]
        if any(name in RULE_SETTINGS for name in changed):
            ctx.provider.modify_rule(lb_id, listener_id, prior["id"], rule_spec(values))
        if tls_changed(changed):
            cert = binding(values)
            if cert is not None:
                ctx.provider.modify_domain_certificate(lb_id, listener_id, values["domain"], cert)
                self._confirm(ctx, address, prior, values)
        settings = domain_attributes(values, changed)
        if settings is not None:
            ctx.provider.modify_domain_attributes(lb_id, listener_id, values["domain"], settings)
        return {**values, "id": prior["id"]}

    def _confirm(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
                 values: Mapping[str, Any]) -> None:
        """The domain presents its new certificate, else it is switched back (presenting.py)."""
        lb_id, listener_id = values["load_balancer_id"], values["listener_id"]
        old = binding(prior)

        def switch_back() -> None:
            if old is not None:
                ctx.provider.modify_domain_certificate(lb_id, listener_id, values["domain"], old)

        tls = find_rule(ctx.stack, address).tls
        port = ctx.stack.listeners[address.name].port
        server_name = server_name_for(values["domain"])
        confirm_presented(ctx, address, tls=tls,
                          load_balancer_id=lb_id, listener_id=listener_id,
                          port=port, server_name=server_name,
                          prior=prior, values=values, switch_back=switch_back)
        if prior.get("client_ca_id") != values.get("client_ca_id"):  # a client-CA rollover
            confirm_trusted(ctx, address, tls=tls, load_balancer_id=lb_id,
                            listener_id=listener_id, port=port,
                            server_name=server_name, prior=prior, values=values,
                            switch_back=switch_back)

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.delete_rule(prior["load_balancer_id"], prior["listener_id"], prior["id"])


def check_parent_listener(address: Address, ids: tuple[str, str],
                          recorded: Callable[[Address], Mapping[str, Any] | None]) -> None:
    """Refuses an import under a listener the state does not record (or records with other
    IDs)."""
    from mtlsform.resources.import_ids import refuse

    listener_address = Address(LISTENER.name, address.name)
    record = recorded(listener_address)
    if record is None:
        raise refuse(address, f"its listener {listener_address} is not in the state",
                     hint=f"import {listener_address} first (its ID is {ids[0]}#{ids[1]})")
    mine = (record.get("load_balancer_id"), record.get("id"))
    if mine != ids:
        raise refuse(address, f"it belongs to {listener_address} ({mine[0]}#{mine[1]}), not to "
                     f"listener {ids[0]}#{ids[1]}",
                     hint=f"import a rule of {mine[0]}#{mine[1]}")


def cloud_rule(provider: Provider, lb_id: str, listener_id: str,
                rule_id: str) -> RuleInfo | None:
    listener = (provider.read_listeners(lb_id) or {}).get(listener_id)
    return next((r for r in listener.rules if r.id == rule_id), None) if listener else None


RULE = RuleType()
