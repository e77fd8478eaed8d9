"""listener: an HTTP or HTTPS listener of a CLB; port, protocol and SNI force a replacement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlsform.addresses import Address
from mtlsform.plan.values import Ref
from mtlsform.providers.base import ListenerInfo, ListenerSpec
from mtlsform.resources.base import ApplyContext, CloudSnapshot, ResourceType, differs
from mtlsform.resources.tls import binding, binding_attributes, tls_changed, tls_config
from mtlsform.stack.model import Stack


def listener_attributes(info: ListenerInfo, load_balancer_id: str) -> dict[str, Any]:
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
    force_new = frozenset({"load_balancer_id", "protocol", "port", "sni"})
    updatable = frozenset({"name", "ssl_mode", "certificate_id", "client_ca_id"})

    def config(self, stack: Stack, address: Address) -> dict[str, Any]:
        listener = stack.listeners[address.name]
        return {
            "load_balancer_id": Ref(Address("load_balancer", listener.load_balancer), "id"),
            "name": listener.name,
            "protocol": listener.protocol,
            "port": listener.port,
            "sni": listener.sni,
            **tls_config(None if listener.sni else listener.tls),
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if prior is not None:
            lb_id = prior.get("load_balancer_id")
            info = cloud.listener(lb_id, prior.get("id"))
            return listener_attributes(info, lb_id) if info else None
        lb_id = (desired or {}).get("load_balancer_id")
        listeners = cloud.listeners.get(lb_id) if isinstance(lb_id, str) else None
        for info in (listeners or {}).values():
            # An object on our port with our name: left by an interrupted create.
            if info.port == desired["port"] and info.name == desired["name"]:
                return listener_attributes(info, lb_id)
        return None

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> dict[str, Any]:
        spec = ListenerSpec(
            name=values["name"], protocol=values["protocol"], port=values["port"],
            sni=values["sni"], certificate=binding(values),
        )
        listener_id = ctx.provider.create_listener(values["load_balancer_id"], spec)
        return {**values, "id": listener_id}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any]) -> dict[str, Any]:
        changed = tuple(k for k in self.updatable if differs(values.get(k), prior.get(k)))
        name_changed = "name" in changed
        cert = binding(values) if tls_changed(changed) else None
        if name_changed or cert is not None:
            ctx.provider.modify_listener(
                values["load_balancer_id"], prior["id"],
                name=values["name"] if name_changed else None, certificate=cert,
            )
        return {**values, "id": prior["id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.delete_listener(prior["load_balancer_id"], prior["id"])


LISTENER = ListenerType()
