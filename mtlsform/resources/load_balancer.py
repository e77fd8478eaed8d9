"""load_balancer: a CLB created and owned by the stack, or an existing one adopted by `id:`.

An adopted CLB is only read: never changed, never deleted (destroy forgets it). A CLB the stack
owns is renamed in place (its VIP stays); its network and placement force a new one. A CLB the stack
created carries `mtlsform:` tags naming the stack and its address: that is its natural key, so
one created but never recorded (an interrupted create, a lost state) is found again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.errors import PlanError
from mtlsform.providers.base import LoadBalancerInfo, LoadBalancerSpec, Provider
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Collection,
    Decision,
    ResourceType,
    differs,
)
from mtlsform.resources.ownership import (
    ADDRESS_TAG,
    OWNER_TAG_PREFIX,
    STACK_TAG,
    owner_tags,
    tagged_workspace,
)
from mtlsform.resources.shape import map_of, nullable, optional
from mtlsform.stack.model import Stack


def ownership_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The `mtlsform:` tags among a CLB's tags: which stack created it, at which address."""
    return {key: value for key, value in tags.items() if key.startswith(OWNER_TAG_PREFIX)}


def _read(provider: Provider, ids: Sequence[str]) -> Mapping[str, Any]:
    return provider.read_load_balancers(ids)


LOAD_BALANCERS = Collection("load_balancers", read=_read)


# Managed only when the stack declares them (see `declared`): security groups, pass-to-target
# and delete protection; read back from DescribeLoadBalancers at no extra call.
DECLARED_ONLY = ("security_groups", "pass_to_target", "delete_protection")
FLAGS = ("pass_to_target", "delete_protection")


def lb_attributes(info: LoadBalancerInfo, prior: Mapping[str, Any]) -> Attributes:
    return {
        "security_groups": list(info.security_groups),
        "pass_to_target": info.pass_to_target,
        "delete_protection": info.delete_protect,
        "id": info.id,
        "name": info.name,
        "network": info.network,
        "vip": info.vips[0] if info.vips else None,
        # Placement and tags are fixed at creation: carried from the record, not re-read;
        # the ownership tags are the cloud's (a record made before they were shown lacks them).
        "vpc_id": prior.get("vpc_id"),
        "subnet_id": prior.get("subnet_id"),
        "tags": dict(sorted({**prior.get("tags", {}), **ownership_tags(info.tags)}.items())),
        "adopted": bool(prior.get("adopted")),
    }


class LoadBalancerType(ResourceType):
    name = "load_balancer"
    serial_writes = True  # a CLB runs one task at a time
    collections = (LOAD_BALANCERS,)
    id_collection = LOAD_BALANCERS.name
    force_new = frozenset({"network", "vpc_id", "subnet_id"})
    # the name and flags: ModifyLoadBalancerAttributes (the VIP stays); the security groups:
    # SetLoadBalancerSecurityGroups
    updatable = frozenset({"name", *DECLARED_ONLY})
    computed = frozenset({"id", "vip"})
    recorded = {
        "id": str, "name": str, "network": str, "vip": nullable(str),
        "vpc_id": nullable(str), "subnet_id": nullable(str), "tags": map_of(str),
        "adopted": bool, "security_groups": optional([str]), "pass_to_target": optional(bool),
        "delete_protection": optional(bool),
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name) for name in stack.load_balancers]

    def config(self, stack: Stack, address: Address) -> Attributes:
        lb = stack.load_balancers[address.name]
        if lb.adopted:
            return {"adopted": True, "id": lb.id}
        return {
            "adopted": False,
            "name": lb.display_name or f"{stack.name}-{lb.name}",
            "network": lb.network,
            "vpc_id": lb.vpc_id,
            "subnet_id": lb.subnet_id,
            # the stack's tags and the ownership tags create adds, so a plan shows them all
            "tags": dict(sorted({**lb.tags, **self.found_by(stack, address)}.items())),
            **declared(lb),
        }

    def find(self, provider: Provider, stack: Stack,
             unrecorded: Sequence[Address]) -> Mapping[Address, str]:
        """One call finds every CLB this stack created and lost track of, by its tags."""
        wanted = {address for address in unrecorded
                  if not stack.load_balancers[address.name].adopted}
        if not wanted:
            return {}
        found: dict[Address, str] = {}
        for lb_id, info in provider.find_load_balancers({STACK_TAG: stack.name}).items():
            if tagged_workspace(info.tags) != stack.workspace:
                continue  # another workspace's: never found here
            tagged = self.natural_key({"tags": info.tags})
            for address in wanted:
                if str(address) == tagged:
                    found[address] = lb_id
        return found

    def found_by(self, stack: Stack, address: Address) -> Mapping[str, str]:
        return owner_tags(stack, address)

    def natural_key(self, attrs: Mapping[str, Any]) -> Hashable:
        return (attrs.get("tags") or {}).get(ADDRESS_TAG)

    def owned(self, attrs: Mapping[str, Any]) -> bool:
        return not attrs.get("adopted")

    def import_(self, provider: Provider, stack: Stack, address: Address, ident: str,
                recorded: Callable[[Address], Mapping[str, Any] | None]) -> Attributes:
        from mtlsform.resources.import_ids import refuse, split_id

        (lb_id,) = split_id(address, ident, ("lb-",), "load balancer", "lb-0a1b2c3d")
        info = provider.read_load_balancers([lb_id]).get(lb_id)
        if info is None:
            raise refuse(address, f"there is no load balancer {lb_id} in this account and "
                         "region", hint="check the ID and the provider's region")
        spec = stack.load_balancers[address.name]
        if spec.adopted:
            if spec.id != lb_id:
                raise refuse(address, f"the stack adopts {spec.id} at this address "
                             f"(load_balancers.{address.name}.id), not {lb_id}",
                             hint=f"import {spec.id}, or change load_balancers."
                                  f"{address.name}.id")
            return {**lb_attributes(info, {"id": lb_id}), "adopted": True}
        if info.network != spec.network:
            raise refuse(address, f"load balancer {lb_id} is {info.network}, but the stack "
                         f"declares a {spec.network} one at this address (the network cannot "
                         "change: it would be replaced)",
                         hint=f"set load_balancers.{address.name}.network: {info.network}")
        if spec.vpc_id or spec.subnet_id:
            raise refuse(address, "the stack places this load balancer in a VPC or subnet, "
                         "which an imported one cannot be checked against",
                         hint="remove vpc_id/subnet_id, or adopt it with id: instead")
        return lb_attributes(info, {})

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        record = prior if prior is not None else (desired or {})
        lb_id = record.get("id")
        if prior is None and not record.get("adopted"):
            lb_id = cloud.found.get(address)  # created by us, but never recorded
        info = cloud.get(LOAD_BALANCERS.name, lb_id)
        if info is None:
            return None
        attrs = lb_attributes(info, record)
        if record.get("adopted"):
            attrs["adopted"] = True
        return attrs

    def drifted(self, recorded: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
        """As for every type, but an attribute the stack does not manage (not recorded) is
        not drift."""
        if current is None:
            return True
        names = (self.force_new | self.updatable) - {
            name for name in DECLARED_ONLY if name not in recorded}
        return any(differs(recorded.get(k), current.get(k)) for k in names)

    def consequences(self, provider: Provider, action: Action,
                     before: Mapping[str, Any] | None, owned_ids: frozenset[str]) -> list[str]:
        if action.deletes and before is not None and before.get("delete_protection") \
                and not before.get("adopted"):
            return [f"load balancer {before.get('id')} has delete protection on: the cloud "
                    "will refuse to delete it, so this apply stops there (nothing on it is "
                    "lost); set delete_protection: false and apply first"]
        return []

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        if desired.get("adopted"):
            if current is None:
                raise PlanError(
                    f"{address}: the load balancer {desired['id']} to adopt does not exist "
                    "in this account and region",
                    hint="check `id:` and the provider's region",
                )
            return Decision(Action.NOOP, Reason.ADOPTED_MATCHES, detail="adopted")
        return super().diff(desired, current, now=now, stack=stack, address=address)

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        tags = {**values.get("tags", {}), **owner_tags(ctx.stack, address)}
        info = ctx.provider.create_load_balancer(LoadBalancerSpec(
            name=values["name"], network=values["network"], vpc_id=values.get("vpc_id"),
            subnet_id=values.get("subnet_id"), tags=tags, client_token=ctx.op_id or None,
        ))
        if info.name != values["name"]:
            # CLB gives a new load balancer a generated name when the name asked for is in
            # use in the region; names need not be unique after that: the declared one is set.
            ctx.provider.rename_load_balancer(info.id, values["name"])
            if ctx.note is not None:
                ctx.note(f"{address}: the name {values['name']!r} is in use by another load "
                         f"balancer of the region, so CLB named {info.id} {info.name!r}; "
                         f"it is renamed {values['name']!r}, as the stack declares.")
        set_declared(ctx.provider, info.id, values, [k for k in DECLARED_ONLY if k in values])
        return {**values, "id": info.id, "vip": info.vips[0] if info.vips else None}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        if "name" in changed:
            ctx.provider.rename_load_balancer(prior["id"], values["name"])
        set_declared(ctx.provider, prior["id"], values, changed)
        kept = {k: v for k, v in prior.items() if k not in DECLARED_ONLY or k in values}
        return {**kept, **values}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        if prior.get("adopted"):
            return  # never delete what the stack did not create
        ctx.provider.delete_load_balancer(prior["id"])


LOAD_BALANCER = LoadBalancerType()


def declared(lb: Any) -> Attributes:
    """The attributes a load balancer of the stack manages only when it declares them."""
    found: Attributes = {}
    if lb.security_groups is not None:
        found["security_groups"] = list(lb.security_groups)
    for name in FLAGS:
        if getattr(lb, name) is not None:
            found[name] = bool(getattr(lb, name))
    return found


def set_declared(provider: Provider, lb_id: str, values: Mapping[str, Any],
                 changed: Sequence[str]) -> None:
    """The security groups (one call) and the flags (one call for both) among `changed`."""
    if "security_groups" in changed:
        provider.set_security_groups(lb_id, values["security_groups"])
    flags = {name: values[name] for name in FLAGS if name in changed}
    if flags:
        provider.set_load_balancer_flags(lb_id, pass_to_target=flags.get("pass_to_target"),
                                         delete_protect=flags.get("delete_protection"))
