"""listener: an HTTP or HTTPS listener of a CLB; port, protocol and SNI force a replacement.

All listeners of a CLB, with their rules and targets, come from one read per CLB (the
`listeners` collection); a listener's port is unique on its CLB.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import ListenerInfo, ListenerSpec, Provider
from mtlsform.references import Ref
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Collection,
    ResourceType,
)
from mtlsform.resources.load_balancer import LOAD_BALANCER, LOAD_BALANCERS
from mtlsform.resources.presenting import confirm_presented, server_name_for
from mtlsform.resources.tls import (
    TLS_RECORDED,
    binding,
    binding_attributes,
    tls_changed,
    tls_config,
)
from mtlsform.stack.model import Stack


def _read_one(provider: Provider, load_balancer_id: str) -> Any:
    return provider.read_listeners(load_balancer_id)


# load balancer ID -> {listener ID: ListenerInfo}, or None when the CLB is gone.
LISTENERS = Collection("listeners", per=LOAD_BALANCERS, read_one=_read_one)


def find_listener(cloud: CloudSnapshot, lb_id: Any, listener_id: Any) -> ListenerInfo | None:
    """A listener (with its rules and targets) as refresh read it, or None."""
    listeners = cloud.get(LISTENERS.name, lb_id)
    if not listeners or not isinstance(listener_id, str):
        return None
    info: ListenerInfo | None = listeners.get(listener_id)
    return info


def listener_attributes(info: ListenerInfo, load_balancer_id: str | None) -> Attributes:
    return {
        "id": info.id,
        "load_balancer_id": load_balancer_id,
        "name": info.name,
        "protocol": info.protocol,
        "port": info.port,
        "sni": info.sni,
        **binding_attributes(None if info.sni else info.certificate),
    }


class ListenerType(ResourceType):
    name = "listener"
    cascade_parent = LOAD_BALANCER.name
    collections = (LISTENERS,)
    force_new = frozenset({"load_balancer_id", "protocol", "port", "sni"})
    updatable = frozenset({"name", "ssl_mode", "certificate_id", "client_ca_id"})
    recorded = {
        "id": str, "load_balancer_id": str, "name": str, "protocol": str, "port": int,
        "sni": bool, **TLS_RECORDED,
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name) for name in stack.listeners]

    def config(self, stack: Stack, address: Address) -> Attributes:
        listener = stack.listeners[address.name]
        return {
            "load_balancer_id": Ref(Address(LOAD_BALANCER.name, listener.load_balancer), "id"),
            "name": listener.cloud_name,
            "protocol": listener.protocol,
            "port": listener.port,
            "sni": listener.sni,
            **tls_config(None if listener.sni else listener.tls),
        }

    def natural_key(self, attrs: Mapping[str, Any]) -> Hashable:
        """An object on our port with our name is ours (left by an interrupted create)."""
        return (attrs.get("port"), attrs.get("name"))

    def exclusive_key(self, attrs: Mapping[str, Any]) -> Hashable | None:
        return ("port", attrs.get("load_balancer_id"), attrs.get("port"))

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        if prior is not None:
            lb_id = prior.get("load_balancer_id")
            info = find_listener(cloud, lb_id, prior.get("id"))
            return listener_attributes(info, lb_id) if info else None
        wanted = desired or {}
        lb_id = wanted.get("load_balancer_id")
        for info in (cloud.get(LISTENERS.name, lb_id) or {}).values():
            attrs = listener_attributes(info, lb_id)
            if self.natural_key(attrs) == self.natural_key(wanted):
                return attrs
        return None

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        spec = ListenerSpec(
            name=values["name"], protocol=values["protocol"], port=values["port"],
            sni=values["sni"], certificate=binding(values),
        )
        listener_id = ctx.provider.create_listener(values["load_balancer_id"], spec)
        return {**values, "id": listener_id}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        name_changed = "name" in changed
        cert = binding(values) if tls_changed(changed) else None
        lb_id = values["load_balancer_id"]
        if name_changed or cert is not None:
            ctx.provider.modify_listener(
                lb_id, prior["id"],
                name=values["name"] if name_changed else None, certificate=cert,
            )
        if cert is not None:
            old = binding(prior)
            listener = ctx.stack.listeners[address.name]
            domains = (server_name_for(rule.domain) for rule in listener.rules)

            def switch_back() -> None:
                ctx.provider.modify_listener(lb_id, prior["id"], certificate=old)

            confirm_presented(ctx, address, tls=listener.tls, load_balancer_id=lb_id,
                              listener_id=prior["id"], port=values["port"],
                              server_name=next((d for d in domains if d), None),
                              prior=prior, values=values, switch_back=switch_back)
        return {**values, "id": prior["id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.delete_listener(prior["load_balancer_id"], prior["id"])


LISTENER = ListenerType()
