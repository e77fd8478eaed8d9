"""The operation graph of an apply: each planned change becomes one or two operations, ordered
so that dependencies are created first, dependents are deleted first, a destroy-first
replacement deletes before it creates, and a create-first replacement deletes the old object
only after everything that used it has moved to the new one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mtlsform.actions import Action
from mtlsform.addresses import Address
from mtlsform.dag import Dag
from mtlsform.plan.model import Plan, ResourceChange
from mtlsform.resources import RESOURCE_TYPES


@dataclass(frozen=True, order=True)
class Operation:
    """`apply` creates or updates a resource; `delete` removes one (or its old, deposed copy)."""

    address: Address
    phase: str  # "apply" | "delete" | "delete-old"
    deposed: str = ""

    def __str__(self) -> str:
        suffix = {"apply": "", "delete": " (delete)", "delete-old": " (delete old)"}[self.phase]
        dep = f" [deposed {self.deposed}]" if self.deposed else ""
        return f"{self.address}{suffix}{dep}"


def parent_of(change: ResourceChange) -> Address | None:
    """The cloud parent whose deletion takes this object with it (its type's cascade parent,
    among the change's dependencies)."""
    parent_type = RESOURCE_TYPES[change.address.type].cascade_parent
    if parent_type is None:
        return None
    return next((dep for dep in change.dependencies if dep.type == parent_type), None)


@dataclass(frozen=True)
class OperationGraph:
    operations: dict[Operation, ResourceChange]
    dependencies: dict[Operation, set[Operation]]
    # Deletes the cloud does for us: the parent's delete takes these objects with it, so they
    # run after it and only drop the record (and are skipped, keeping it, if the parent fails).
    cascaded: frozenset[Operation] = frozenset()
    # A delete -> the cascaded deletes right under it (its children's).
    cascade_children: Mapping[Operation, tuple[Operation, ...]] = field(default_factory=dict)

    def taken_along(self, op: Operation) -> list[Operation]:
        """Every cascaded delete under `op`, children first, then theirs."""
        found, level = [], list(self.cascade_children.get(op, ()))
        while level:
            found += level
            level = [c for parent in level for c in self.cascade_children.get(parent, ())]
        return found

    @property
    def dag(self) -> Dag[Operation]:
        """The operations as a graph (what the walker walks)."""
        return Dag(self.operations, self.dependencies)


def build_operations(plan: Plan, state_dependencies: dict[Address, tuple[Address, ...]]
                     ) -> OperationGraph:
    """Operations for the plan's actionable changes; `state_dependencies` from the prior state."""
    ops: dict[Operation, ResourceChange] = {}
    applies: dict[Address, Operation] = {}
    deletes: dict[Address, list[Operation]] = defaultdict(list)
    for change in plan.actionable:
        action, address = change.action, change.address
        if action in (Action.CREATE, Action.UPDATE) or action.is_replace:
            applies[address] = Operation(address, "apply")
            ops[applies[address]] = change
        if action in (Action.DELETE, Action.FORGET, Action.REPLACE_DESTROY_FIRST):
            op = Operation(address, "delete", change.deposed or "")
            ops[op] = change
            deletes[address].append(op)
        if action is Action.REPLACE_CREATE_FIRST and not RESOURCE_TYPES[address.type].local:
            op = Operation(address, "delete-old")
            ops[op] = change
            deletes[address].append(op)

    deps: dict[Operation, set[Operation]] = {op: set() for op in ops}
    desired_users: dict[Address, set[Address]] = defaultdict(set)
    for address, op in applies.items():
        for dep in ops[op].dependencies:
            desired_users[dep].add(address)
            if dep in applies:
                deps[op].add(applies[dep])  # dependencies are created/updated first
        for old in deletes.get(address, ()):
            if old.phase == "delete" and not old.deposed:
                deps[op].add(old)  # destroy-first replacement
    recorded_users: dict[Address, set[Address]] = defaultdict(set)
    for address, recorded in state_dependencies.items():
        for dep in recorded:
            recorded_users[dep].add(address)
    for change in plan.actionable:  # unmanaged objects: their parent is their only dependency
        parent = parent_of(change)
        if parent is not None and change.address not in state_dependencies:
            recorded_users[parent].add(change.address)

    for address, delete_ops in deletes.items():
        for op in delete_ops:
            # The old copy of a create-first replacement, made in this run or deposed by an
            # earlier one that did not finish: it goes after the new copy and its users.
            old_copy = op.phase == "delete-old" or bool(op.deposed)
            if old_copy and address in applies:
                deps[op].add(applies[address])
            users = (desired_users[address] | recorded_users[address]) if old_copy \
                else recorded_users[address]
            for user in users - {address}:
                deps[op].update(d for d in deletes.get(user, ()) if d.phase == "delete")
                user_op = applies.get(user)
                # Users that stay (updated in place, or the new copy of a create-first
                # replacement) move away from the old object before it goes.
                if user_op is not None and (old_copy or ops[user_op].action is Action.UPDATE):
                    deps[op].add(user_op)
    _order_exclusive_keys(ops, applies, deletes, deps)
    parents = _cascade(ops, deletes, deps)
    children: dict[Operation, list[Operation]] = defaultdict(list)
    for child, parent_delete in sorted(parents.items()):
        children[parent_delete].append(child)
    return OperationGraph(ops, deps, frozenset(parents),
                          {key: tuple(kids) for key, kids in children.items()})


def _cascade(ops: dict[Operation, ResourceChange], deletes: dict[Address, list[Operation]],
             deps: dict[Operation, set[Operation]]) -> dict[Operation, Operation]:
    """Turns 'delete the children, then the parent' into 'delete the parent, then forget the
    children' wherever the parent is deleted too; returns each child's operation -> its
    parent's delete."""
    parent_op: dict[Operation, Operation] = {}
    for delete_ops in deletes.values():
        for op in delete_ops:
            if op.phase != "delete" or op.deposed:
                continue
            parent = parent_of(ops[op])
            candidates = [p for p in deletes.get(parent, ()) if p.phase == "delete"] \
                if parent is not None else []
            if candidates and ops[candidates[0]].action is not Action.FORGET:
                parent_op[op] = candidates[0]
    for op, parent_delete in parent_op.items():
        ancestor: Operation | None = parent_delete
        while ancestor is not None:  # none of the deletes above it waits for it any more
            deps[ancestor].discard(op)
            ancestor = parent_op.get(ancestor)
        deps[op].add(parent_delete)
    return parent_op


def _order_exclusive_keys(ops: dict[Operation, ResourceChange],
                          applies: dict[Address, Operation],
                          deletes: dict[Address, list[Operation]],
                          deps: dict[Operation, set[Operation]]) -> None:
    """An object that takes an exclusive key (a listener's port; each of a rule's domains),
    created or updated, waits for the deletes and updates that free it."""
    def keys(address: Address, attrs: Mapping[str, Any] | None) -> frozenset[Hashable]:
        return RESOURCE_TYPES[address.type].exclusive_keys(attrs or {})

    freed: dict[Hashable, list[Operation]] = defaultdict(list)
    for address, delete_ops in deletes.items():
        for op in delete_ops:
            if op.phase == "delete":
                for key in keys(address, ops[op].before):
                    freed[(address.type, key)].append(op)
    taken: dict[Operation, frozenset[Hashable]] = {}
    for address, op in applies.items():
        change = ops[op]
        after = keys(address, change.after)
        if change.action is Action.UPDATE:
            before = keys(address, change.before)
            for key in before - after:
                freed[(address.type, key)].append(op)
            taken[op] = after - before
        elif change.action.creates:
            taken[op] = after
    for op, wanted in taken.items():
        for key in wanted:
            deps[op].update(o for o in freed.get((op.address.type, key), ()) if o != op)
