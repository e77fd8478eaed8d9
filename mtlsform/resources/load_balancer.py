"""load_balancer: a CLB created and owned by the stack, or an existing one adopted by `id:`.

An adopted CLB is only read: never changed, never deleted (destroy forgets it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mtlsform.addresses import Address
from mtlsform.errors import PlanError
from mtlsform.plan.model import FORGET_ADOPTED, Action
from mtlsform.providers.base import LoadBalancerInfo, LoadBalancerSpec
from mtlsform.resources.base import ApplyContext, CloudSnapshot, Decision, ResourceType
from mtlsform.stack.model import Stack

OWNER_TAG_PREFIX = "mtlsform:"


def lb_attributes(info: LoadBalancerInfo, prior: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "network": info.network,
        "vip": info.vips[0] if info.vips else None,
        # Placement and tags are fixed at creation: carried from the record, not re-read.
        "vpc_id": prior.get("vpc_id"),
        "subnet_id": prior.get("subnet_id"),
        "tags": prior.get("tags", {}),
        "adopted": bool(prior.get("adopted")),
    }


class LoadBalancerType(ResourceType):
    name = "load_balancer"
    force_new = frozenset({"name", "network", "vpc_id", "subnet_id"})
    updatable = frozenset()
    computed = frozenset({"id", "vip"})

    def config(self, stack: Stack, address: Address) -> dict[str, Any]:
        lb = stack.load_balancers[address.name]
        if lb.adopted:
            return {"adopted": True, "id": lb.id}
        return {
            "adopted": False,
            "name": lb.display_name or f"{stack.name}-{lb.name}",
            "network": lb.network,
            "vpc_id": lb.vpc_id,
            "subnet_id": lb.subnet_id,
            "tags": dict(sorted(lb.tags.items())),
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> dict[str, Any] | None:
        record = prior if prior is not None else (desired or {})
        lb_id = record.get("id")
        if prior is None and not record.get("adopted"):
            lb_id = cloud.tagged.get(str(address))  # created by us, but never recorded
        if not isinstance(lb_id, str) or lb_id not in cloud.load_balancers:
            return None
        attrs = lb_attributes(cloud.load_balancers[lb_id], record)
        if record.get("adopted"):
            attrs["adopted"] = True
        return attrs

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        if desired.get("adopted"):
            if current is None:
                raise PlanError(
                    f"{address}: the load balancer {desired['id']} to adopt does not exist "
                    "in this account and region",
                    hint="check `id:` and the provider's region",
                )
            return Decision(Action.NOOP, detail="adopted")
        return super().diff(desired, current, now=now, stack=stack, address=address)

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> dict[str, Any]:
        tags = {
            **values.get("tags", {}),
            f"{OWNER_TAG_PREFIX}stack": ctx.stack.name,
            f"{OWNER_TAG_PREFIX}address": str(address),
        }
        info = ctx.provider.create_load_balancer(LoadBalancerSpec(
            name=values["name"], network=values["network"], vpc_id=values.get("vpc_id"),
            subnet_id=values.get("subnet_id"), tags=tags, client_token=ctx.op_id or None,
        ))
        return {**values, "id": info.id, "vip": info.vips[0] if info.vips else None}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any]) -> dict[str, Any]:
        return {**prior, **values}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        if prior.get("adopted"):
            return  # never delete what the stack did not create
        ctx.provider.delete_load_balancer(prior["id"])


def forget_reason() -> str:
    return FORGET_ADOPTED


LOAD_BALANCER = LoadBalancerType()
