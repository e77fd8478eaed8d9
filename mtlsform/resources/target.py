"""target: a real server bound to a rule; its weight changes in place (ModifyTargetWeight).

A target is known by its server and port within its rule (`server_key`); one bound by hand
gets the address `target.<listener>["<rule key>"].<server>:<port>`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import Provider, RuleInfo, TargetInfo, TargetSpec
from mtlsform.references import Ref
from mtlsform.resources.base import ApplyContext, Attributes, CloudSnapshot, ResourceType
from mtlsform.resources.listener import LISTENER, LISTENERS, find_listener
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.rule import RULE, find_rule
from mtlsform.resources.shape import nullable
from mtlsform.stack.model import Listener, Rule, RuleBackend, Stack


def target_attributes(info: TargetInfo, parent: Mapping[str, Any]) -> Attributes:
    return {
        "load_balancer_id": parent.get("load_balancer_id"),
        "listener_id": parent.get("listener_id"),
        "rule_id": parent.get("rule_id"),
        "instance_id": info.instance_id,
        "ip": info.ip,
        "port": info.port,
        "weight": info.weight,
    }


def target_spec(values: Mapping[str, Any]) -> TargetSpec:
    return TargetSpec(port=values["port"], instance_id=values.get("instance_id"),
                      ip=values.get("ip"), weight=values["weight"])


def server_key(values: Mapping[str, Any]) -> tuple[str, int]:
    return (values.get("instance_id") or values.get("ip") or "", values.get("port") or 0)


def _cloud_rule(cloud: CloudSnapshot, source: Mapping[str, Any]) -> RuleInfo | None:
    listener = find_listener(cloud, source.get("load_balancer_id"), source.get("listener_id"))
    if listener is None:
        return None
    rules = cloud.index(("rules of", id(listener)), lambda: {r.id: r for r in listener.rules})
    rule: RuleInfo | None = rules.get(source.get("rule_id"))
    return rule


def _cloud_target(cloud: CloudSnapshot, source: Mapping[str, Any]) -> TargetInfo | None:
    """The target of `source`'s rule that has `source`'s server and port, as read."""
    rule = _cloud_rule(cloud, source)
    if rule is None:
        return None
    targets = cloud.index(("targets of", id(rule)),  # the first of a server and port wins
                          lambda: {t.key: t for t in reversed(rule.targets)})
    target: TargetInfo | None = targets.get(server_key(source))
    return target


def _config(stack: Stack, listener: Listener, rule: Rule, bound: RuleBackend) -> Attributes:
    backend = stack.backends[bound.backend]
    return {
        "load_balancer_id": Ref(Address(LOAD_BALANCER.name, listener.load_balancer), "id"),
        "listener_id": Ref(Address(LISTENER.name, listener.name), "id"),
        "rule_id": Ref(Address(RULE.name, listener.name, rule.key), "id"),
        "backend": backend.name,
        "instance_id": backend.instance,
        "ip": backend.ip,
        "port": backend.port,
        "weight": bound.weight if bound.weight is not None else backend.weight,
    }


class TargetType(ResourceType):
    name = "target"
    cascade_parent = RULE.name
    batched_writes = True  # the provider merges the targets of one rule into shared calls
    collections = (LISTENERS,)
    force_new = frozenset(
        {"load_balancer_id", "listener_id", "rule_id", "instance_id", "ip", "port"}
    )
    updatable = frozenset({"weight"})
    computed = frozenset()
    recorded = {
        "load_balancer_id": str, "listener_id": str, "rule_id": str, "backend": nullable(str),
        "instance_id": nullable(str), "ip": nullable(str), "port": int, "weight": int,
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name, rule.key, bound.backend)
                for name, listener in stack.listeners.items() for rule in listener.rules
                for bound in rule.backends]

    def config(self, stack: Stack, address: Address) -> Attributes:
        listener = stack.listeners[address.name]
        rule = find_rule(stack, address)
        bound = next(b for b in rule.backends if b.backend == address.sub)
        return _config(stack, listener, rule, bound)

    def configs(self, stack: Stack) -> dict[Address, Attributes]:
        found: dict[Address, Attributes] = {}
        for name, listener in stack.listeners.items():
            for rule in listener.rules:
                for bound in rule.backends:
                    found[Address(self.name, name, rule.key, bound.backend)] = _config(
                        stack, listener, rule, bound)
        return found

    def natural_key(self, attrs: Mapping[str, Any]) -> Hashable:
        return server_key(attrs)

    def import_id(self, attrs: Mapping[str, Any]) -> str:
        from mtlsform.resources.import_ids import join_id

        server, port = server_key(attrs)
        return join_id(attrs.get("load_balancer_id"), attrs.get("listener_id"),
                       attrs.get("rule_id"), f"{server}:{port}")

    def claimants(self, provider: Provider, stack: Stack,
                  attrs: Mapping[str, Any]) -> list[str]:
        from mtlsform.resources.ownership import listener_claimants

        return listener_claimants(provider, stack, attrs.get("load_balancer_id"),
                                  attrs.get("listener_id"))

    def import_(self, provider: Provider, stack: Stack, address: Address, ident: str,
                recorded: Callable[[Address], Mapping[str, Any] | None]) -> Attributes:
        from mtlsform.resources.import_ids import refuse, split_id
        from mtlsform.resources.rule import check_parent_listener, cloud_rule

        parts = split_id(address, ident, ("lb-", "lbl-", "loc-"), "target",
                         "lb-0a1b2c3d#lbl-0a1b2c3d#loc-0a1b2c3d (the rule it is bound to)",
                         extra=1)
        lb_id, listener_id, rule_id = parts[:3]
        check_parent_listener(address, (lb_id, listener_id), recorded)
        rule_address = Address(RULE.name, address.name, address.key)
        rule_record = recorded(rule_address)
        if rule_record is None:
            raise refuse(address, f"its rule {rule_address} is not in the state",
                         hint=f"import {rule_address} first (its ID is "
                              f"{lb_id}#{listener_id}#{rule_id})")
        if rule_record.get("id") != rule_id:
            raise refuse(address, f"it belongs to {rule_address} ({rule_record.get('id')}), "
                         f"not to rule {rule_id}",
                         hint=f"import a target of rule {rule_record.get('id')}")
        wanted = {k: v for k, v in self.config(stack, address).items()
                  if not isinstance(v, Ref)}
        server, port = server_key(wanted)
        if len(parts) == 4 and parts[3] != f"{server}:{port}":
            raise refuse(address, f"the stack binds backend {address.sub} ({server}:{port}) "
                         f"at this address, not {parts[3]}",
                         hint=f"import {server}:{port}, or name its backend in the stack")
        info = cloud_rule(provider, lb_id, listener_id, rule_id)
        if info is None:
            raise refuse(address, f"listener {listener_id} of {lb_id} has no rule {rule_id}",
                         hint="list its rules in the console (or DescribeListeners)")
        bound = next((t for t in info.targets if t.key == (server, port)), None)
        if bound is None:
            raise refuse(address, f"backend {address.sub} ({server}:{port}) is not bound to "
                         f"rule {rule_id}",
                         hint="bind it in the console first, or let apply bind it")
        source = {"load_balancer_id": lb_id, "listener_id": listener_id, "rule_id": rule_id}
        return {**target_attributes(bound, source), "backend": wanted.get("backend")}

    def identity(self, attrs: Mapping[str, Any]) -> Hashable | None:
        rule_id = attrs.get("rule_id")
        return (rule_id, *server_key(attrs)) if isinstance(rule_id, str) else None

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        source = prior if prior is not None else (desired or {})
        info = _cloud_target(cloud, source)
        if info is None:
            return None
        attrs = target_attributes(info, source)
        attrs["backend"] = source.get("backend")
        return attrs

    def under(self, cloud: CloudSnapshot, parent: Address,
              parent_attrs: Mapping[str, Any]) -> list[tuple[Address, Attributes]]:
        source = {"load_balancer_id": parent_attrs.get("load_balancer_id"),
                  "listener_id": parent_attrs.get("listener_id"),
                  "rule_id": parent_attrs.get("id")}
        rule = _cloud_rule(cloud, source)
        found = []
        for info in rule.targets if rule is not None else ():
            server, port = info.key
            found.append((Address(self.name, parent.name, parent.key, f"{server}:{port}"),
                          target_attributes(info, source)))
        return found

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        ctx.provider.register_targets(values["load_balancer_id"], values["listener_id"],
                                      values["rule_id"], [target_spec(values)],
                                      seat=ctx.seat)
        return dict(values)

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        ctx.provider.modify_target_weights(values["load_balancer_id"], values["listener_id"],
                                           values["rule_id"], [target_spec(values)],
                                           seat=ctx.seat)
        return dict(values)

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.deregister_targets(prior["load_balancer_id"], prior["listener_id"],
                                        prior["rule_id"], [target_spec(prior)],
                                        seat=ctx.seat)


TARGET = TargetType()
