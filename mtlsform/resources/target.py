"""target: a real server bound to a rule; its weight changes in place (ModifyTargetWeight)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlsform.addresses import Address
from mtlsform.plan.values import Ref
from mtlsform.providers.base import TargetInfo, TargetSpec
from mtlsform.resources.base import ApplyContext, CloudSnapshot, ResourceType
from mtlsform.resources.rule import find_rule
from mtlsform.stack.model import Stack


def target_attributes(info: TargetInfo, parent: Mapping[str, Any]) -> dict[str, Any]:
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
    return (values.get("instance_id") or values.get("ip") or "", values.get("port"))


class TargetType(ResourceType):
    name = "target"
    force_new = frozenset(
        {"load_balancer_id", "listener_id", "rule_id", "instance_id", "ip", "port"}
    )
    updatable = frozenset({"weight"})
    computed = frozenset()

    def config(self, stack: Stack, address: Address) -> dict[str, Any]:
        listener = stack.listeners[address.name]
        rule = find_rule(stack, address)
        bound = next(b for b in rule.backends if b.backend == address.sub)
        backend = stack.backends[bound.backend]
        rule_address = Address("rule", listener.name, rule.key)
        return {
            "load_balancer_id": Ref(Address("load_balancer", listener.load_balancer), "id"),
            "listener_id": Ref(Address("listener", listener.name), "id"),
            "rule_id": Ref(rule_address, "id"),
            "backend": backend.name,
            "instance_id": backend.instance,
            "ip": backend.ip,
            "port": backend.port,
            "weight": bound.weight if bound.weight is not None else backend.weight,
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> dict[str, Any] | None:
        source = prior if prior is not None else (desired or {})
        listener = cloud.listener(source.get("load_balancer_id"), source.get("listener_id"))
        if listener is None:
            return None
        for rule in listener.rules:
            if rule.id != source.get("rule_id"):
                continue
            for info in rule.targets:
                if info.key == server_key(source):
                    attrs = target_attributes(info, source)
                    attrs["backend"] = source.get("backend")
                    return attrs
        return None

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> dict[str, Any]:
        ctx.provider.register_targets(values["load_balancer_id"], values["listener_id"],
                                      values["rule_id"], [target_spec(values)])
        return dict(values)

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any]) -> dict[str, Any]:
        ctx.provider.modify_target_weights(values["load_balancer_id"], values["listener_id"],
                                           values["rule_id"], [target_spec(values)])
        return dict(values)

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.deregister_targets(prior["load_balancer_id"], prior["listener_id"],
                                        prior["rule_id"], [target_spec(prior)])


TARGET = TargetType()
