"""tls_policy: the TLS versions and ciphers of a listener (SNI off) or of a domain (SNI on).

CLB has no policy object: the policy is a layer-7 customized configuration whose text holds
`ssl_protocols` and `ssl_ciphers`, bound to the domains ("servers") it applies to. With SNI
off, the handshake happens before any Host is known, so the listener's policy is bound to every
domain of the listener (`tls_policy.https`); with SNI on, each domain has its own
(`tls_policy.https["www.example.com"]`). The text changes in place (UPDATE) and the domains are
bound and unbound as rules come and go; a policy moves to another listener by replacement.

The configurations a state records are read in two calls whatever their number (the
`customized_configs` collection: DescribeCustomizedConfigList by ID, and one
DescribeCustomizedConfigAssociateList); the rules come from the `listeners` collection that
refresh reads anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mtlsform.addresses import Address
from mtlsform.errors import ProviderError
from mtlsform.providers.base import ConfigBinding, CustomizedConfigInfo, Provider, RuleInfo
from mtlsform.references import Ref
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Collection,
    ResourceType,
)
from mtlsform.resources.listener import LISTENER, LISTENERS, find_listener
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.rule import RULE
from mtlsform.stack.model import Listener, Rule, Stack
from mtlsform.stack.tlspolicy import TlsPolicy, read_content


def _read(provider: Provider, ids: Sequence[str]) -> Mapping[str, Any]:
    return provider.read_customized_configs(ids)


# config ID -> CustomizedConfigInfo (text and bound domains)
CUSTOMIZED_CONFIGS = Collection("customized_configs", read=_read)


def _policy_rules(listener: Listener, address: Address) -> tuple[TlsPolicy | None, list[Rule]]:
    """The policy at `address` and the rules whose domains it is bound to."""
    if address.key is None:
        policy = listener.tls.policy if listener.tls is not None else None
        return policy, sorted(listener.rules, key=lambda r: r.key)
    rules = sorted((r for r in listener.rules if r.domain == address.key), key=lambda r: r.key)
    policy = next((r.tls.policy for r in rules if r.tls is not None and r.tls.policy), None)
    return policy, rules


class TlsPolicyType(ResourceType):
    name = "tls_policy"
    collections = (CUSTOMIZED_CONFIGS, LISTENERS)
    id_collection = CUSTOMIZED_CONFIGS.name
    force_new = frozenset({"load_balancer_id", "listener_id"})
    updatable = frozenset({"protocols", "ciphers", "content", "domains", "rule_ids"})
    recorded = {
        "id": str, "name": str, "protocols": [str], "ciphers": [str], "content": str,
        "load_balancer_id": str, "listener_id": str, "domains": [str], "rule_ids": [str],
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        found: list[Address] = []
        for name, listener in stack.listeners.items():
            if listener.protocol != "HTTPS":
                continue
            if not listener.sni:
                if listener.tls is not None and listener.tls.policy is not None:
                    found.append(Address(self.name, name))
                continue
            domains = {rule.domain for rule in listener.rules
                       if rule.tls is not None and rule.tls.policy is not None}
            found += [Address(self.name, name, domain) for domain in sorted(domains)]
        return found

    def config(self, stack: Stack, address: Address) -> Attributes:
        listener = stack.listeners[address.name]
        policy, rules = _policy_rules(listener, address)
        assert policy is not None
        suffix = f"-{address.key}" if address.key else ""
        return {
            "name": f"{stack.name}-{listener.name}{suffix}"[:200],
            # What ssl_protocols and ssl_ciphers say, for people; the whole text, for drift.
            "protocols": list(policy.protocols),
            "ciphers": list(policy.cipher_list),
            "content": policy.content(),
            "load_balancer_id": Ref(Address(LOAD_BALANCER.name, listener.load_balancer), "id"),
            "listener_id": Ref(Address(LISTENER.name, listener.name), "id"),
            "domains": sorted({rule.domain for rule in rules}),
            # The rules it is bound through: created before it, and a replaced rule (whose
            # domain may have lost its binding with it) shows as a change that binds it again.
            "rule_ids": [Ref(Address(RULE.name, listener.name, rule.key), "id")
                         for rule in rules],
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        if prior is None:
            return None  # a configuration carries no tags: only a recorded one is found
        info: CustomizedConfigInfo | None = cloud.get(CUSTOMIZED_CONFIGS.name, prior.get("id"))
        if info is None:
            return None
        lb_id, listener_id = prior.get("load_balancer_id"), prior.get("listener_id")
        bound = {b.domain for b in info.bindings
                 if (b.load_balancer_id, b.listener_id) == (lb_id, listener_id)}
        listener = find_listener(cloud, lb_id, listener_id)
        first = _first_domains(listener.rules if listener is not None else ())
        domains = sorted({first.get(name, name) for name in bound})
        rules = sorted((r for r in listener.rules if r.domain in domains),
                       key=lambda r: (r.domain, r.url)) if listener is not None else []
        protocols, ciphers = read_content(info.content)
        return {
            "id": info.id, "name": info.name, "protocols": protocols, "ciphers": ciphers,
            "content": info.content,
            "load_balancer_id": lb_id, "listener_id": listener_id, "domains": domains,
            "rule_ids": [r.id for r in rules],
        }

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        config_id = ctx.provider.create_customized_config(values["name"], values["content"])
        ctx.provider.bind_customized_config(config_id, _bindings(values, values["domains"]),
                                            bound=True)
        return {**values, "id": config_id}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        config_id = prior["id"]
        if {"content", "protocols", "ciphers"} & set(changed):
            ctx.provider.update_customized_config(config_id, values["content"])
        if "domains" in changed or "rule_ids" in changed:
            now = ctx.provider.read_customized_configs([config_id]).get(config_id)
            key = (values["load_balancer_id"], values["listener_id"])
            declared = ctx.stack.listeners.get(address.name)
            first = _first_domains(declared.rules if declared is not None else ())
            held = {first.get(b.domain, b.domain) for b in (now.bindings if now else ())
                    if (b.load_balancer_id, b.listener_id) == key}
            wanted = set(values["domains"])
            if wanted - held:
                ctx.provider.bind_customized_config(
                    config_id, _bindings(values, sorted(wanted - held)), bound=True)
            if held - wanted:
                ctx.provider.bind_customized_config(
                    config_id, _bindings(values, sorted(held - wanted)), bound=False)
        return {**values, "id": config_id}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        config_id = prior["id"]
        now = ctx.provider.read_customized_configs([config_id]).get(config_id)
        if now is None:
            return
        if now.bindings:
            # A listener or domain deleted meanwhile took its binding with it; what is still
            # bound makes the delete below fail with its own message.
            with contextlib.suppress(ProviderError):
                ctx.provider.bind_customized_config(config_id, now.bindings, bound=False)
        ctx.provider.delete_customized_config(config_id)


def _first_domains(rules: Iterable[Rule | RuleInfo]) -> dict[str, str]:
    """Each domain of the rules (declared or read) -> its rule's first: a multi-domain rule's
    domain is bound under each of its names, recorded by its first as the stack names it, and
    unbinding one name unbinds them all."""
    return {name: rule.domain for rule in rules for name in rule.domains or (rule.domain,)}


def _bindings(values: Mapping[str, Any], domains: Iterable[str]) -> list[ConfigBinding]:
    return [ConfigBinding(values["load_balancer_id"], values["listener_id"], domain)
            for domain in domains]


TLS_POLICY = TlsPolicyType()
