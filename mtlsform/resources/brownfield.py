"""`mtlsform import --generate LB_ID`: a stack written from what an existing CLB holds, with
the `mtlsform import` commands that record it, so that its first plan is a no-op.

The CLB is adopted (`id:`: never deleted by the stack); each HTTPS listener (SNI off or on)
becomes a listener with its rules and targets; every certificate they present is referenced
by its ID (the SSL service keeps its private key); every real server a backend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mtlsform.addresses import Address, rule_key
from mtlsform.errors import InputError
from mtlsform.providers.base import CertificateBinding, ListenerInfo, Provider, RuleInfo
from mtlsform.resources.import_ids import join_id
from mtlsform.resources.listener import LISTENER
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.rule import RULE, health_check_attributes
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.resources.target import TARGET
from mtlsform.stack.model import ProviderConfig

LB_NAME = "web"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


@dataclass
class GeneratedStack:
    """The stack's text, and the imports (address, ID) to run before its first plan."""

    text: str
    imports: list[tuple[Address, str]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _name(text: str, fallback: str, taken: set[str]) -> str:
    """A stack name (letter first; letters, digits, '_', '-') for `text`, unique in `taken`."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")
    base = cleaned if cleaned and _NAME.match(cleaned) else fallback
    name, n = base[:63], 2
    while name in taken:
        name, n = f"{base[:58]}-{n}", n + 1
    taken.add(name)
    return name


class _Writer:
    def __init__(self, provider: Provider, lb_id: str) -> None:
        self.provider = provider
        self.lb_id = lb_id
        self.certificates: dict[str, dict[str, Any]] = {}
        self.cert_names: dict[str, str] = {}  # certificate ID -> stack name
        self.backends: dict[str, dict[str, Any]] = {}
        self.backend_names: dict[tuple[str, int], str] = {}
        self.names: set[str] = set()
        self.imports: list[tuple[Address, str]] = []
        self.left_out: list[str] = []

    def certificate(self, ident: str, kind: str) -> str:
        if ident not in self.cert_names:
            name = _name(f"{'ca' if kind == 'ca' else 'cert'}-{ident}", "cert", self.names)
            self.cert_names[ident] = name
            self.certificates[name] = {"type": kind, "id": ident}
            self.imports.append((Address(SSL_CERTIFICATE.name, name), ident))
        return self.cert_names[ident]

    def tls(self, binding: CertificateBinding) -> dict[str, Any]:
        mutual = binding.ssl_mode == "MUTUAL"
        tls: dict[str, Any] = {"mode": "mutual" if mutual else "one-way",
                               "certificate": self.certificate(binding.certificate_id, "server")}
        if binding.extra_certificate_ids:  # dual certificates: the list form of `certificate`
            tls["certificate"] = [tls["certificate"], *(
                self.certificate(ident, "server") for ident in binding.extra_certificate_ids)]
        if mutual and binding.client_ca_id:
            tls["client_ca"] = self.certificate(binding.client_ca_id, "ca")
        return tls

    def backend(self, server: str, port: int, weight: int, ip: bool) -> str:
        key = (server, port)
        if key not in self.backend_names:
            name = _name(f"{server}-{port}", "backend", self.names)
            self.backend_names[key] = name
            self.backends[name] = {"ip" if ip else "instance": server, "port": port,
                                   "weight": weight}
        return self.backend_names[key]

    def rule(self, listener_key: str, info: RuleInfo, listener: ListenerInfo) -> dict[str, Any]:
        check = health_check_attributes(info.health_check, info.domain, info.forward_type)
        health: dict[str, Any] = {k: v for k, v in check.items() if v is not None}
        rule: dict[str, Any] = {
            "domain": list(info.domains) if info.domains else info.domain,
            "url": info.url, "scheduler": info.scheduler,
            "backend_protocol": info.forward_type,
            "session_persistence": info.session_expire_time, "health_check": health,
        }
        if listener.sni and info.certificate is not None:
            rule["tls"] = self.tls(info.certificate)
        key = rule_key(info.domain, info.url)
        self.imports.append((Address(RULE.name, listener_key, key),
                             join_id(self.lb_id, listener.id, info.id)))
        bound: list[Any] = []
        for target in info.targets:
            server = target.instance_id or target.ip or ""
            name = self.backend(server, target.port, target.weight, target.instance_id is None)
            own = self.backends[name]["weight"]
            bound.append(name if own == target.weight else
                         {"backend": name, "weight": target.weight})
            self.imports.append((Address(TARGET.name, listener_key, key, name),
                                 join_id(self.lb_id, listener.id, info.id,
                                         f"{server}:{target.port}")))
        rule["backends"] = bound
        return rule

    def listener(self, info: ListenerInfo) -> tuple[str, dict[str, Any]] | None:
        if info.protocol != "HTTPS":
            self.left_out.append(f"listener {info.id} ({info.protocol}:{info.port}): only "
                                 "HTTPS listeners are written")
            return None
        key = _name(info.name, f"https-{info.port}", self.names)
        listener: dict[str, Any] = {"load_balancer": LB_NAME, "protocol": "HTTPS",
                                    "port": info.port, "sni": info.sni}
        self.imports.append((Address(LISTENER.name, key), join_id(self.lb_id, info.id)))
        if not info.sni and info.certificate is not None:
            listener["tls"] = self.tls(info.certificate)
        listener["rules"] = [self.rule(key, rule, info) for rule in info.rules]
        if key != info.name:
            self.left_out.append(f"listener {info.id} is named {info.name!r} in the cloud; the "
                                 f"stack names it {key!r} (the first plan renames it)")
        return key, listener


def generate_stack(provider: Provider, lb_id: str, *, stack_name: str,
                   provider_config: ProviderConfig) -> GeneratedStack:
    """The stack for load balancer `lb_id` as the cloud holds it now."""
    info = provider.read_load_balancers([lb_id]).get(lb_id)
    listeners = provider.read_listeners(lb_id) if info is not None else None
    if info is None or listeners is None:
        raise InputError(f"there is no load balancer {lb_id} in this account and region",
                         hint="check the ID and the provider's region")
    writer = _Writer(provider, lb_id)
    writer.names.add(LB_NAME)
    writer.imports.append((Address(LOAD_BALANCER.name, LB_NAME), lb_id))
    written: dict[str, Any] = {}
    for listener in sorted(listeners.values(), key=lambda item: item.port):
        made = writer.listener(listener)
        if made is not None:
            written[made[0]] = made[1]
    document: dict[str, Any] = {"version": 1, "stack": stack_name,
                                "provider": _provider(provider_config)}
    if writer.certificates:
        document["certificates"] = writer.certificates
    document["load_balancers"] = {LB_NAME: {"id": lb_id}}
    if writer.backends:
        document["backends"] = writer.backends
    document["listeners"] = written
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=96)
    return GeneratedStack(body, writer.imports, writer.left_out)


def _provider(config: ProviderConfig) -> Mapping[str, Any]:
    shown: dict[str, Any] = {"kind": config.kind}
    if config.region:
        shown["region"] = config.region
    if config.endpoint:
        shown["endpoint"] = config.endpoint
    return shown
