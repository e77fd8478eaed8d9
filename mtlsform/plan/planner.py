"""The planner: compares a stack with the refreshed state and lists the changes, as a Plan.

Resources are planned in dependency order so a resource's references resolve to what its
dependencies will be after apply (their IDs stay known unless they are created or replaced).
Objects the cloud holds under a kept parent that no stack declares (a target added by hand)
are planned for deletion too: the stack owns the whole binding set. An object found by its
tags that the state does not record, and that no intent of an interrupted run accounts for, is
planned with the reason that it is adopted (the session refuses such a plan unless adoption
was asked for: plan/lost_state.py). The planner asks every question of the resource types and
names none.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.dag import Dag
from mtlsform.diagnostics import Diagnostic, warning
from mtlsform.errors import PlanError
from mtlsform.plan.lost_state import adoption_detail, found_objects
from mtlsform.plan.model import Drift, OutputChange, Plan, ResourceChange
from mtlsform.plan.outputs import resolve_output
from mtlsform.references import UNKNOWN, Ref, evaluate, references
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.base import CloudSnapshot, Decision, ResourceType
from mtlsform.resources.graph import compiled
from mtlsform.stack.model import Stack
from mtlsform.state.model import State


class _Planner:
    def __init__(self, stack: Stack, state: State | None, cloud: CloudSnapshot | None,
                 now: datetime, moved_from: Mapping[Address, Address],
                 replacing: frozenset[Address]) -> None:
        self.stack = stack
        self.compiled = compiled(stack)
        self.moved_from = moved_from
        self.replacing = replacing
        self.cloud = cloud
        self.now = now
        self.prior = {(r.address, r.deposed): r for r in (state.resources if state else ())}
        self.planned: dict[Address, dict[str, Any]] = {}
        self.current: dict[Address, dict[str, Any] | None] = {}
        self.changes: list[ResourceChange] = []
        self.drift: list[Drift] = []
        self.warnings: list[Diagnostic] = []
        # cloud objects found (by natural key) for addresses the state does not record
        self.claimed: dict[tuple[str, Hashable], Address] = {}
        # Found by their tags with no record and no intent: refused unless adoption was asked.
        self.adopting = {f.address: f for f in found_objects(cloud, state, stack)
                         if not f.interrupted} if cloud is not None else {}
        # Addresses an interrupted run holds an intent for: an object found there is its create.
        self.pending = {op.address for op in (state.pending_operations if state else ())}

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
        if prior is not None and rtype.drifted(prior, current):
            self.drift.append(Drift(address, rtype.shown(prior) or {}, rtype.shown(current)))
        return current

    def plan_resource(self, address: Address) -> None:
        rtype = RESOURCE_TYPES[address.type]
        config = self.compiled.configs.get(address)
        if config is None:
            config = rtype.config(self.stack, address)
            refs: Sequence[Ref] = references(config)
            dependencies = tuple(sorted({r.address for r in refs}, key=Address.sort_key))
        else:
            refs = self.compiled.refs[address]
            dependencies = self.compiled.graph.dependencies(address)  # sorted, as above
        desired = evaluate(config, self.lookup)
        record = self.prior.get((address, None))
        prior_attrs = record.attributes if record is not None else None
        current = self.read(rtype, address, prior_attrs, desired)
        self.current[address] = current
        if prior_attrs is None and current is not None:
            identity = rtype.identity(current)
            if identity is not None:
                self.claimed[(address.type, identity)] = address
        decision = rtype.diff(desired, current, now=self.now, stack=self.stack, address=address)
        if address in self.replacing and current is not None and not decision.action.creates:
            decision = Decision(rtype.replace_action, Reason.REPLACE_REQUESTED,
                                "replace requested (--replace)", changed=decision.changed)
        self.warnings += [warning(text, path=str(address)) for text in rtype.plan_warnings(
            current, now=self.now, stack=self.stack, address=address)]
        reason, detail = decision.reason, decision.detail
        replaced_by = _replaced_dependencies(config, desired, decision.replace_paths)
        if decision.action.is_replace and replaced_by:
            names = ", ".join(str(a) for a in replaced_by)
            detail = f"{names} {'is' if len(replaced_by) == 1 else 'are'} replaced, so it is too"
        if decision.action is Action.CREATE and prior_attrs is not None:
            reason, detail = Reason.DELETED_OUTSIDE, "it was deleted outside mtlsform"
        if address in self.adopting and current is not None and prior_attrs is None:
            reason, detail = Reason.FOUND, adoption_detail(self.adopting[address])
        planned = self.planned[address] = rtype.planned(desired, current, decision.action,
                                                         decision.changed)
        before = rtype.shown(current)
        # Mostly nothing changes: what is shown after is then what is shown before.
        after = before if planned == current else rtype.shown(planned)
        importing = None
        # Found by its natural key: taken over, unless it is the create of an interrupted run
        # or part of what --adopt-found takes back (under an object found by its tags).
        adopted = bool(self.adopting) and (address in self.adopting or any(
            ref.address in self.adopting for ref in refs))
        if (current is not None and prior_attrs is None and not rtype.local and not adopted
                and address not in self.pending and rtype.owned(planned)
                and not self.recorded_elsewhere(address, rtype.identity(current))):
            importing = rtype.import_id(current)
        self.changes.append(ResourceChange(
            address=address,
            action=decision.action,
            reason=reason,
            detail=detail,
            before=before,
            after=after,
            config=config,
            changed=decision.changed,
            replace_paths=decision.replace_paths,
            sensitive=rtype.sensitive,
            dependencies=dependencies,
            moved_from=self.moved_from.get(address),
            importing=importing,
        ))

    def recorded_elsewhere(self, address: Address, identity: Hashable | None) -> bool:
        """Whether the state records the object `identity` names at another address (a key
        renamed without a moved: entry): the stack manages it already, so it is no import."""
        if identity is None:
            return False
        return any(other.type == address.type and other != address and deposed is None
                   and RESOURCE_TYPES[other.type].identity(record.attributes) == identity
                   for (other, deposed), record in self.prior.items())

    def plan_removals(self, desired: set[Address], destroy: bool) -> None:
        """State entries the stack no longer declares (or all of them, for destroy)."""
        leaving = [(key, record) for key, record in self.prior.items()
                   if destroy or key[1] is not None or key[0] not in desired]
        for (address, deposed), record in sorted(leaving,
                                                 key=lambda kv: (kv[0][0], kv[0][1] or "")):
            rtype = RESOURCE_TYPES[address.type]
            attrs = record.attributes
            if deposed is None and not rtype.local and self.cloud is not None:
                current = rtype.read(self.cloud, address, attrs, None)
                if current is None:
                    self.drift.append(Drift(address, rtype.shown(attrs) or {}, None))
                    continue  # already gone: apply drops it from the state
                attrs = current
            detail = None
            claimer = self.claimed.get((address.type, rtype.identity(attrs))) \
                if deposed is None and not destroy else None
            if claimer is not None:
                # Deleting it would delete what `claimer` now holds: only the record goes.
                action, reason = Action.FORGET, Reason.CLAIMED
                detail = (f"{claimer} finds the same cloud object by what identifies it: "
                          "only this record is dropped (a moved: entry says so in the stack)")
            elif not rtype.owned(attrs):
                action, reason = Action.FORGET, rtype.left_in_place(attrs)
            else:
                action = Action.DELETE
                reason = Reason.DEPOSED if deposed else (
                    Reason.DESTROY if destroy else Reason.NO_CONFIG)
                if reason is Reason.NO_CONFIG:
                    detail = rtype.removal_detail(attrs)
            self.changes.append(ResourceChange(
                address=address, action=action, reason=reason, detail=detail,
                before=rtype.shown(attrs),
                sensitive=rtype.sensitive, dependencies=tuple(record.dependencies),
                deposed=deposed, moved_from=self.moved_from.get(address),
            ))

    def plan_unmanaged(self) -> None:
        """Objects the cloud holds under kept parents that neither stack nor state declares."""
        if self.cloud is None:
            return
        children = {name: _children_of(name) for name in RESOURCE_TYPES}
        child_types = {t.name for found in children.values() for t in found}
        claimed: set[tuple[str, Hashable]] = set()
        recorded = [(a, r.attributes) for (a, _), r in self.prior.items()]
        for address, attrs in [*recorded, *self.current.items()]:
            if attrs is not None and address.type in child_types:
                identity = RESOURCE_TYPES[address.type].identity(attrs)
                if identity is not None:
                    claimed.add((address.type, identity))
        kept = [c for c in self.changes if children.get(c.address.type)
                and c.action in (Action.NOOP, Action.UPDATE)
                and self.current.get(c.address) is not None]
        for change in kept:
            parent_attrs = self.current[change.address] or {}
            for child_type in children[change.address.type]:
                for address, attrs in child_type.under(self.cloud, change.address, parent_attrs):
                    if (child_type.name, child_type.identity(attrs)) in claimed:
                        continue
                    self.changes.append(ResourceChange(
                        address=address, action=Action.DELETE, reason=Reason.UNMANAGED,
                        detail="it exists in the cloud but not in the stack",
                        before=child_type.shown(attrs), dependencies=(change.address,),
                        unmanaged=attrs,
                    ))

    def outputs(self, state: State | None, destroy: bool) -> tuple[OutputChange, ...]:
        before = dict(state.outputs) if state is not None else {}
        result = []
        for name, output in sorted(self.stack.outputs.items()):
            old = before.get(name)
            old_value = old.value if old is not None else None
            if destroy:
                result.append(OutputChange(name, old_value, None))
                continue
            value = resolve_output(output, self.planned.get)
            unknown = value is UNKNOWN
            result.append(OutputChange(name, old_value, None if unknown else value, unknown))
        return tuple(result)


def _children_of(type_name: str) -> Iterable[ResourceType]:
    return [t for t in RESOURCE_TYPES.values() if t.cascade_parent == type_name]


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


def make_plan(stack: Stack, graph: Dag[Address], state: State | None,
              cloud: CloudSnapshot | None, *, now: datetime, destroy: bool = False,
              moved_from: Mapping[Address, Address] | None = None,
              replacing: Iterable[Address] = ()) -> Plan:
    """The plan for `stack` (whose resource graph is `graph`) against the prior `state` and
    what `cloud` holds (None: no refresh). `state` has the stack's moves made already
    (plan/moves.py), and `moved_from` says where each moved address was; `replacing` are
    the resources to replace although nothing forces it (`--replace`)."""
    planner = _Planner(stack, state, cloud, now, moved_from or {}, frozenset(replacing))
    if not destroy:
        for address in graph.topological_order():
            planner.plan_resource(address)
    planner.plan_removals(set(graph.nodes), destroy)
    if not destroy:
        planner.plan_unmanaged()
    pending = tuple(sorted(str(op.address) for op in (state.pending_operations if state else ())))
    return Plan(
        stack=stack.name,
        mode="destroy" if destroy else "normal",
        changes=tuple(sorted(planner.changes, key=ResourceChange.sort_key)),
        drift=tuple(planner.drift),
        outputs=planner.outputs(state, destroy),
        prior_lineage=state.lineage if state is not None else None,
        prior_serial=state.serial if state is not None else None,
        refreshed=cloud is not None,
        warnings=tuple(planner.warnings),
        interrupted_operations=pending,
    )
