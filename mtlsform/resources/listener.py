"""listener: an HTTP or HTTPS listener of a CLB; port and protocol force a replacement, and so
does switching SNI off (SNI is switched on in place: ModifyListener SniSwitch 1).

All listeners of a CLB, with their rules and targets, come from one read per CLB (the
`listeners` collection); a listener's port is unique on its CLB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import ListenerInfo, ListenerSpec, Provider
from mtlsform.references import Ref
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Collection,
    Decision,
    ResourceType,
    compare,
)
from mtlsform.resources.load_balancer import LOAD_BALANCER, LOAD_BALANCERS
from mtlsform.resources.presenting import confirm_presented, server_name_for
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


SNI_OFF = ("sni cannot be switched off in place (CLB refuses SniSwitch 1 -> 0): the listener "
           "is replaced, and its domains are unreachable until the new one is up")


class ListenerType(ResourceType):
    name = "listener"
    cascade_parent = LOAD_BALANCER.name
    collections = (LISTENERS,)
    force_new = frozenset({"load_balancer_id", "protocol", "port"})
    updatable = frozenset({"name", "sni", *TLS_ATTRIBUTES})
    absent_as_none = frozenset({DUAL})
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

    def import_id(self, attrs: Mapping[str, Any]) -> str:
        from mtlsform.resources.import_ids import join_id

        return join_id(attrs.get("load_balancer_id"), attrs.get("id"))

    def claimants(self, provider: Provider, stack: Stack,
                  attrs: Mapping[str, Any]) -> list[str]:
        from mtlsform.resources.ownership import listener_claimants

        return listener_claimants(provider, stack, attrs.get("load_balancer_id"),
                                  attrs.get("id"))

    def import_(self, provider: Provider, stack: Stack, address: Address, ident: str,
                recorded: Callable[[Address], Mapping[str, Any] | None]) -> Attributes:
        from mtlsform.resources.import_ids import refuse, split_id

        lb_id, listener_id = split_id(address, ident, ("lb-", "lbl-"), "listener",
                                      "lb-0a1b2c3d#lbl-0a1b2c3d")
        spec = stack.listeners[address.name]
        lb_address = Address(LOAD_BALANCER.name, spec.load_balancer)
        lb_record = recorded(lb_address)
        expected = (lb_record or {}).get("id") or stack.load_balancers[spec.load_balancer].id
        if expected is None:
            raise refuse(address, f"its load balancer {lb_address} is not in the state",
                         hint=f"import {lb_address} first (mtlsform import STACK "
                              f"{lb_address} {lb_id})")
        if expected != lb_id:
            raise refuse(address, f"the stack puts this listener on {lb_address} "
                         f"({expected}), not on {lb_id}",
                         hint=f"import the listener of {expected}")
        info = (provider.read_listeners(lb_id) or {}).get(listener_id)
        if info is None:
            raise refuse(address, f"load balancer {lb_id} has no listener {listener_id}",
                         hint="list its listeners in the console (or DescribeListeners)")
        declared = f"{spec.protocol}:{spec.port}"
        if (info.protocol, info.port) != (spec.protocol, spec.port):
            raise refuse(address, f"listener {listener_id} is {info.protocol}:{info.port}, "
                         f"but the stack declares {declared} for listeners.{address.name}",
                         hint="import the listener on that port, or change the stack's "
                              "protocol and port to the listener's")
        if info.sni != spec.sni:
            raise refuse(address, f"listener {listener_id} has SNI "
                         f"{'on' if info.sni else 'off'}, but the stack declares it "
                         f"{'on' if spec.sni else 'off'} (it cannot change in place)",
                         hint=f"set listeners.{address.name}.sni: {str(info.sni).lower()}")
        return listener_attributes(info, lb_id)

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        if current is not None and current.get("sni") and desired.get("sni") is False:
            decision = compare(desired, current, self.force_new | {"sni"}, self.updatable,
                               self.replace_action, self.absent_as_none)
            return replace(decision, detail=SNI_OFF)
        return super().diff(desired, current, now=now, stack=stack, address=address)

    def exclusive_keys(self, attrs: Mapping[str, Any]) -> frozenset[Hashable]:
        return frozenset({("port", attrs.get("load_balancer_id"), attrs.get("port"))})

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
        sni_on = "sni" in changed and bool(values.get("sni"))
        lb_id = values["load_balancer_id"]
        if name_changed or cert is not None or sni_on:
            # Switching SNI on, each domain keeps the listener's certificate; the rules'
            # own updates then set the certificates the stack gives them.
            ctx.provider.modify_listener(
                lb_id, prior["id"],
                name=values["name"] if name_changed else None, certificate=cert,
                sni=True if sni_on else None,
            )
        if cert is not None:
            old = binding(prior)
            listener = ctx.stack.listeners[address.name]
            domains = (server_name_for(rule.domain) for rule in listener.rules)

            def switch_back() -> None:
                ctx.provider.modify_listener(lb_id, prior["id"], certificate=old)

            server_name = next((d for d in domains if d), None)
            confirm_presented(ctx, address, tls=listener.tls, load_balancer_id=lb_id,
                              listener_id=prior["id"], port=values["port"],
                              server_name=server_name,
                              prior=prior, values=values, switch_back=switch_back)
            if "client_ca_id" in changed:  # a client-CA rollover: every trusted CA gets in
                confirm_trusted(ctx, address, tls=listener.tls, load_balancer_id=lb_id,
                                listener_id=prior["id"], port=values["port"],
                                server_name=server_name, prior=prior, values=values,
                                switch_back=switch_back)
        return {**values, "id": prior["id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.delete_listener(prior["load_balancer_id"], prior["id"])


LISTENER = ListenerType()
