"""The planner: compares a stack with the refreshed state and lists the changes, as a Plan.

Resources are planned in dependency order so a resource's references resolve to what its
dependencies will be after apply (their IDs stay known unless they are created or replaced).
Objects the cloud holds under a managed listener or rule that no stack declares (a target added
by hand) are planned for deletion too: the stack owns the whole binding set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mtlsform.addresses import Address, rule_key
from mtlsform.errors import PlanError
from mtlsform.graph import ResourceGraph
from mtlsform.plan.model import (
    CREATE_MISSING,
    DELETE_DEPOSED,
    DELETE_DESTROY,
    DELETE_NO_CONFIG,
    DELETE_UNMANAGED,
    FORGET_ADOPTED,
    Action,
    Drift,
    OutputChange,
    Plan,
    ResourceChange,
)
from mtlsform.plan.outputs import resolve_output
from mtlsform.plan.values import UNKNOWN, Ref, evaluate, references
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.base import CloudSnapshot, ResourceType, differs
from mtlsform.resources.rule import rule_attributes
from mtlsform.resources.target import target_attributes
from mtlsform.stack.model import Stack


def shown(rtype: ResourceType, attrs: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Attributes as a plan shows them: no secrets, no PEM bodies."""
    if attrs is None:
        return None
    return {k: v for k, v in sorted(attrs.items()) if k not in rtype.sensitive | rtype.hidden}


def _compared(rtype: ResourceType) -> frozenset[str]:
    return rtype.force_new | rtype.updatable


def _drifted(rtype: ResourceType, recorded: Mapping[str, Any],
             current: Mapping[str, Any] | None) -> bool:
    if current is None:
        return True
    return any(differs(recorded.get(k), current.get(k)) for k in _compared(rtype))


class _Planner:
    def __init__(self, stack: Stack, state, cloud: CloudSnapshot | None, now: datetime) -> None:
        self.stack = stack
        self.cloud = cloud
        self.now = now
        self.prior = {(r.address, r.deposed): r for r in (state.resources if state else ())}
        self.planned: dict[Address, dict[str, Any]] = {}
        self.current: dict[Address, dict[str, Any] | None] = {}
        self.changes: list[ResourceChange] = []
        self.drift: list[Drift] = []

    def lookup(self, ref: Ref) -> Any:
        attrs = self.planned.get(ref.address)
        if attrs is None:
            raise PlanError(f"internal: {ref} is used before it is planned")
        return attrs.get(ref.attribute)

    def read(self, rtype: ResourceType, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if self.cloud is None:  # --refresh=false: trust the state
            return dict(prior) if prior is not None else None
        current = rtype.read(self.cloud, address, prior, desired)
        if prior is not None and rtype.name != "certificate" and _drifted(rtype, prior, current):
            self.drift.append(Drift(address, shown(rtype, prior), shown(rtype, current)))
        return current

    def plan_resource(self, address: Address, graph: ResourceGraph) -> None:
        rtype = RESOURCE_TYPES[address.type]
        config = rtype.config(self.stack, address)
        desired = evaluate(config, self.lookup)
        record = self.prior.get((address, None))
        prior_attrs = record.attributes if record is not None else None
        current = self.read(rtype, address, prior_attrs, desired)
        self.current[address] = current
        decision = rtype.diff(desired, current, now=self.now, stack=self.stack, address=address)
        reason, detail = decision.reason, decision.detail
        replaced_by = _replaced_dependencies(config, desired, decision.replace_paths)
        if decision.action.is_replace and replaced_by:
            names = ", ".join(str(a) for a in replaced_by)
            detail = f"{names} {'is' if len(replaced_by) == 1 else 'are'} replaced, so it is too"
        if decision.action is Action.CREATE and prior_attrs is not None:
            reason, detail = CREATE_MISSING, "it was deleted outside mtlsform"
        self.planned[address] = rtype.planned(desired, current, decision.action)
        depends = set(graph.dependencies(address)) | {r.address for r in references(config)}
        self.changes.append(ResourceChange(
            address=address,
            action=decision.action,
            reason=reason,
            detail=detail,
            before=shown(rtype, current),
            after=shown(rtype, self.planned[address]),
            config=config,
            replace_paths=decision.replace_paths,
            sensitive=rtype.sensitive,
            dependencies=tuple(sorted(depends)),
        ))

    def plan_removals(self, desired: set[Address], destroy: bool) -> None:
        """State entries the stack no longer declares (or all of them, for destroy)."""
        for (address, deposed), record in sorted(self.prior.items(),
                                                 key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if not destroy and deposed is None and address in desired:
                continue
            rtype = RESOURCE_TYPES[address.type]
            attrs = record.attributes
            if deposed is None and rtype.name != "certificate" and self.cloud is not None:
                current = rtype.read(self.cloud, address, attrs, None)
                if current is None:
                    self.drift.append(Drift(address, shown(rtype, attrs), None))
                    continue  # already gone: apply drops it from the state
                attrs = current
            if attrs.get("adopted"):
                action, reason = Action.FORGET, FORGET_ADOPTED
            else:
                action = Action.DELETE
                reason = DELETE_DEPOSED if deposed else (
                    DELETE_DESTROY if destroy else DELETE_NO_CONFIG)
            self.changes.append(ResourceChange(
                address=address, action=action, reason=reason, before=shown(rtype, attrs),
                sensitive=rtype.sensitive, dependencies=tuple(record.dependencies),
                deposed=deposed,
            ))

    def plan_unmanaged(self) -> None:
        """Rules and targets under kept listeners and rules that nothing declares."""
        if self.cloud is None:
            return
        claimed_rules: set[str] = set()
        claimed_targets: set[tuple[str, str, int]] = set()
        for (address, _), record in self.prior.items():
            self._claim(address, record.attributes, claimed_rules, claimed_targets)
        for address, attrs in self.current.items():
            if attrs is not None:
                self._claim(address, attrs, claimed_rules, claimed_targets)
        for change in list(self.changes):
            if change.address.type != "listener" or change.action not in (
                Action.NOOP, Action.UPDATE
            ):
                continue
            attrs = self.current.get(change.address) or {}
            info = self.cloud.listener(attrs.get("load_balancer_id"), attrs.get("id"))
            if info is None:
                continue
            parent = {"load_balancer_id": attrs["load_balancer_id"], "listener_id": info.id}
            for rule in info.rules:
                key = rule_key(rule.domain, rule.url)
                if rule.id not in claimed_rules:
                    self._unmanaged(Address("rule", change.address.name, key),
                                    rule_attributes(rule, parent["load_balancer_id"], info.id,
                                                    info.sni))
                    continue
                for target in rule.targets:
                    if (rule.id, *target.key) in claimed_targets:
                        continue
                    server, port = target.key
                    self._unmanaged(
                        Address("target", change.address.name, key, f"{server}:{port}"),
                        target_attributes(target, {**parent, "rule_id": rule.id}),
                    )

    @staticmethod
    def _claim(address: Address, attrs: Mapping[str, Any], rules: set[str],
               targets: set[tuple[str, str, int]]) -> None:
        if address.type == "rule" and isinstance(attrs.get("id"), str):
            rules.add(attrs["id"])
        elif address.type == "target" and isinstance(attrs.get("rule_id"), str):
            server = attrs.get("instance_id") or attrs.get("ip") or ""
            targets.add((attrs["rule_id"], server, attrs.get("port")))

    def _unmanaged(self, address: Address, attrs: dict[str, Any]) -> None:
        rtype = RESOURCE_TYPES[address.type]
        self.changes.append(ResourceChange(
            address=address, action=Action.DELETE, reason=DELETE_UNMANAGED,
            detail="it exists in the cloud but not in the stack", before=shown(rtype, attrs),
            config={"unmanaged": attrs},
        ))

    def outputs(self, state, destroy: bool) -> tuple[OutputChange, ...]:
        before = dict(getattr(state, "outputs", {}) or {}) if state is not None else {}
        result = []
        for name, output in sorted(self.stack.outputs.items()):
            old = before.get(name)
            old_value = getattr(old, "value", old)
            if destroy:
                result.append(OutputChange(name, old_value, None))
                continue
            value = resolve_output(output, self.planned.get)
            unknown = value is UNKNOWN
            result.append(OutputChange(name, old_value, None if unknown else value, unknown))
        return tuple(result)


def _replaced_dependencies(config: Mapping[str, Any], desired: Mapping[str, Any],
                           forced: tuple[str, ...]) -> list[Address]:
    """The dependencies whose replacement alone forces this one (their new IDs are unknown)."""
    if not forced:
        return []
    found: set[Address] = set()
    for path in forced:
        ref = config.get(path)
        if not isinstance(ref, Ref) or desired.get(path) is not UNKNOWN:
            return []
        found.add(ref.address)
    return sorted(found)[-1:] if len(found) > 1 else sorted(found)


def make_plan(stack: Stack, graph: ResourceGraph, state, cloud: CloudSnapshot | None, *,
              now: datetime, destroy: bool = False) -> Plan:
    """The plan for `stack` against the prior `state` and what `cloud` holds (None: no refresh)."""
    planner = _Planner(stack, state, cloud, now)
    if not destroy:
        for address in graph.topological_order():
            planner.plan_resource(address, graph)
    planner.plan_removals(set(graph.nodes), destroy)
    if not destroy:
        planner.plan_unmanaged()
    pending = tuple(sorted(str(op.address) for op in getattr(state, "pending_operations", ())))
    return Plan(
        stack=stack.name,
        mode="destroy" if destroy else "normal",
        changes=tuple(sorted(planner.changes, key=ResourceChange.sort_key)),
        drift=tuple(planner.drift),
        outputs=planner.outputs(state, destroy),
        prior_lineage=getattr(state, "lineage", None),
        prior_serial=getattr(state, "serial", None),
        refreshed=cloud is not None,
        interrupted_operations=pending,
    )
