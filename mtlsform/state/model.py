"""The state model: what mtlsform knows exists, as plain frozen values with pure updates.

No I/O here: `mtlsform.state.statefile` turns a `State` into the file's bytes and back, and
`mtlsform.state.local` stores it. Updates return a new `State`; nothing is changed in place.
Resources are kept sorted by (address, deposed key) and outputs by name, so two states with the
same content are equal and serialise to the same bytes.
"""

from __future__ import annotations

import math
import secrets
import uuid
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from mtlsform import __version__
from mtlsform.addresses import Address
from mtlsform.sensitive import Sensitive

_HEX = frozenset("0123456789abcdef")


def new_deposed_key() -> str:
    """A fresh key for an old object kept during create-before-destroy: 8 lowercase hex digits."""
    return secrets.token_hex(4)


def is_deposed_key(text: object) -> bool:
    return isinstance(text, str) and len(text) == 8 and set(text) <= _HEX


def as_address(value: Address | str) -> Address:
    return value if isinstance(value, Address) else Address.parse(value)


def json_value(value: Any, where: str, *, allow_sensitive: bool = True) -> Any:
    """A detached copy of a JSON value (dicts, lists, str, int, float, bool, None).

    Tuples become lists and mappings dicts, so equal content compares equal. `Sensitive` values
    are kept (they are how secrets travel) unless `allow_sensitive` is false.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} cannot be stored in JSON")
        return value
    if isinstance(value, Sensitive):
        if not allow_sensitive:
            raise ValueError(f"{where}: holds a sensitive value, which is not allowed here")
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            out[key] = json_value(item, f"{where}.{key}", allow_sensitive=allow_sensitive)
        return out
    if isinstance(value, list | tuple):
        return [json_value(item, f"{where}[{i}]", allow_sensitive=allow_sensitive)
                for i, item in enumerate(value)]
    raise ValueError(f"{where}: {type(value).__name__} is not a JSON value")


def contains_sensitive(value: Any) -> bool:
    if isinstance(value, Sensitive):
        return True
    if isinstance(value, dict):
        return any(contains_sensitive(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_sensitive(v) for v in value)
    return False


def reveal_deep(value: Any) -> Any:
    """`value` with every `Sensitive` inside it unwrapped."""
    if isinstance(value, Sensitive):
        return reveal_deep(value.reveal())
    if isinstance(value, dict):
        return {k: reveal_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal_deep(v) for v in value]
    return value


@dataclass(frozen=True)
class ResourceState:
    """One object mtlsform manages, as last recorded.

    `attributes` is a read-only JSON object whose values may be `Sensitive` at any depth.
    `deposed` is set (8 hex digits) on an old object kept while its replacement is created
    first; it is destroyed later.
    """

    address: Address
    attributes: Mapping[str, Any] = field(default_factory=dict)
    dependencies: tuple[Address, ...] = ()
    deposed: str | None = None
    # computed once in __post_init__: states re-sort their resources on every update
    _sort_key: tuple[tuple[int, str, str, str, str], str] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        address = as_address(self.address)
        object.__setattr__(self, "address", address)
        if not isinstance(self.attributes, Mapping):
            raise ValueError(f"{address}: attributes must be a mapping")
        attributes = json_value(self.attributes, f"{address} attributes")
        object.__setattr__(self, "attributes", MappingProxyType(attributes))
        deps = sorted({as_address(d) for d in self.dependencies})
        object.__setattr__(self, "dependencies", tuple(deps))
        if self.deposed is not None and not is_deposed_key(self.deposed):
            raise ValueError(f"{address}: deposed key {self.deposed!r} is not 8 hex digits")
        # computed once: states re-sort their resources on every update
        object.__setattr__(self, "_sort_key", (address.sort_key(), self.deposed or ""))

    @property
    def type(self) -> str:
        return self.address.type

    @property
    def key(self) -> tuple[Address, str | None]:
        """What identifies this object within a state."""
        return (self.address, self.deposed)

    def sort_key(self) -> tuple[tuple[int, str, str, str, str], str]:
        return self._sort_key


@dataclass(frozen=True)
class OutputValue:
    """A stack output. A value holding anything sensitive is sensitive as a whole."""

    value: Any
    sensitive: bool = False

    def __post_init__(self) -> None:
        value = json_value(self.value, "output")
        sensitive = self.sensitive or contains_sensitive(value)
        if sensitive and not isinstance(value, Sensitive):
            value = Sensitive(reveal_deep(value))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "sensitive", sensitive)


@dataclass(frozen=True)
class PendingOperation:
    """An intent recorded before a cloud call and removed after it.

    Left in a saved state, it says a run stopped while the call was in flight, so the next run
    can look for what the call may have created. `details` is JSON without secrets (e.g. the
    names or tags the create used, an ID known before the call).
    """

    op_id: str
    address: Address
    action: str
    started_at: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", as_address(self.address))
        if not self.op_id or not self.action:
            raise ValueError("a pending operation needs an op_id and an action")
        details = json_value(self.details, f"pending {self.action} of {self.address} details",
                             allow_sensitive=False)
        if not isinstance(details, dict):
            raise ValueError("pending operation details must be a mapping")
        object.__setattr__(self, "details", MappingProxyType(details))

    @classmethod
    def begin(cls, address: Address | str, action: str,
              details: Mapping[str, Any] | None = None) -> PendingOperation:
        """A new intent with a fresh op_id, started now (UTC)."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(uuid.uuid4().hex, as_address(address), action, now, details or {})

    def sort_key(self) -> tuple[str, tuple[int, str, str, str, str], str]:
        return (self.started_at, self.address.sort_key(), self.op_id)


_RESOURCE_ORDER = attrgetter("_sort_key")


def _sorted_outputs(outputs: Mapping[str, OutputValue | Any]) -> Mapping[str, OutputValue]:
    items = {}
    for name in sorted(outputs):
        value = outputs[name]
        items[name] = value if isinstance(value, OutputValue) else OutputValue(value)
    return MappingProxyType(items)


@dataclass(frozen=True)
class State:
    """Everything recorded about one stack.

    `lineage` is fixed when the state is first made and never changes; `serial` is set by the
    store when it writes a changed state. `tool_version` is the mtlsform that last wrote it.
    `plan_key` is the secret saved plans of this lineage are signed with (64 hex digits; None
    until the first `plan --out`).
    """

    stack: str
    lineage: str
    serial: int = 0
    resources: tuple[ResourceState, ...] = ()
    outputs: Mapping[str, OutputValue] = field(default_factory=dict)
    pending_operations: tuple[PendingOperation, ...] = ()
    tool_version: str = field(default=__version__, compare=False)
    plan_key: Sensitive[str] | None = None

    def __post_init__(self) -> None:
        resources = sorted(self.resources, key=_RESOURCE_ORDER)
        for before, after in pairwise(resources):
            if before.sort_key() == after.sort_key() and before.key == after.key:
                where = f"{before.address}" + (f" (deposed {before.deposed})"
                                                if before.deposed else "")
                raise ValueError(f"{where} is in the state twice")
        object.__setattr__(self, "resources", tuple(resources))
        object.__setattr__(self, "outputs", _sorted_outputs(self.outputs))
        pending = sorted(self.pending_operations, key=PendingOperation.sort_key)
        if len({p.op_id for p in pending}) != len(pending):
            raise ValueError("two pending operations share an op_id")
        object.__setattr__(self, "pending_operations", tuple(pending))

    @classmethod
    def empty(cls, stack: str) -> State:
        """A new state for `stack` with a fresh lineage."""
        return cls(stack=stack, lineage=str(uuid.uuid4()))

    # ---- lookups ----

    @cached_property
    def _index(self) -> dict[tuple[Address, str | None], ResourceState]:
        return {r.key: r for r in self.resources}

    def get(self, address: Address | str, deposed: str | None = None) -> ResourceState | None:
        """The current object at `address` (or the deposed one with that key), if recorded."""
        return self._index.get((as_address(address), deposed))

    def current(self) -> tuple[ResourceState, ...]:
        """All objects that are not deposed."""
        return tuple(r for r in self.resources if r.deposed is None)

    def resources_of_type(self, type_: str) -> tuple[ResourceState, ...]:
        return tuple(r for r in self.resources if r.address.type == type_)

    def deposed_of(self, address: Address | str) -> tuple[ResourceState, ...]:
        """Old objects of `address` waiting to be destroyed after a create-before-destroy."""
        address = as_address(address)
        return tuple(r for r in self.resources if r.address == address and r.deposed)

    def pending(self, op_id: str) -> PendingOperation | None:
        return next((p for p in self.pending_operations if p.op_id == op_id), None)

    def same_content(self, other: State) -> bool:
        """Equal except for serial and tool_version: writing one over the other is a no-op."""
        return (self.stack, self.lineage, self.resources, self.outputs,
                self.pending_operations, self.plan_key) == (
                    other.stack, other.lineage, other.resources, other.outputs,
                    other.pending_operations, other.plan_key)

    # ---- pure updates ----

    def _evolve(self, *, resources: tuple[ResourceState, ...] | None = None,
                index: dict[tuple[Address, str | None], ResourceState] | None = None,
                **fields: Any) -> State:
        """This state with `fields` replaced, skipping the checks and sorting of a new one:
        for the updates below, which keep resources sorted and unique themselves. Without
        new `resources` the lookup index is shared (states are immutable). The work is that
        of the change, not of the state: no re-sort of every resource per operation."""
        new = object.__new__(State)
        values = new.__dict__
        values.update(self.__dict__)
        values.pop("_index", None)
        values.update(fields)
        if resources is not None:
            values["resources"] = resources
            if index is not None:
                values["_index"] = index
        elif "_index" in self.__dict__:
            values["_index"] = self.__dict__["_index"]
        return new

    def with_resource(self, resource: ResourceState) -> State:
        """Adds `resource`, or replaces the object with the same address and deposed key."""
        resources = self.resources
        at = bisect_left(resources, resource.sort_key(), key=_RESOURCE_ORDER)
        same = at < len(resources) and resources[at].key == resource.key
        updated = (*resources[:at], resource, *resources[at + same:])
        index = dict(self._index)
        index[resource.key] = resource
        return self._evolve(resources=updated, index=index)

    def with_resources_put(self, resources: Iterable[ResourceState]) -> State:
        """`with_resource` for each of `resources` (a later one of the same key wins), in one
        rebuild: the work of many puts at once is one sort, not a copy of the state each."""
        puts = list(resources)
        if not puts:
            return self
        index = dict(self._index)
        for resource in puts:
            index[resource.key] = resource
        ordered = tuple(sorted(index.values(), key=_RESOURCE_ORDER))
        return self._evolve(resources=ordered, index=index)

    def without_resource(self, address: Address | str, deposed: str | None = None) -> State:
        """Removes one object (the current one unless `deposed` is given); absent is fine."""
        key = (as_address(address), deposed)
        found = self._index.get(key)
        if found is None:
            return self
        resources = self.resources
        at = bisect_left(resources, found.sort_key(), key=_RESOURCE_ORDER)
        index = dict(self._index)
        del index[key]
        return self._evolve(resources=(*resources[:at], *resources[at + 1:]), index=index)

    def without_resources(self, keys: Iterable[tuple[Address, str | None]]) -> State:
        """`without_resource` for each (address, deposed) of `keys`, in one rebuild."""
        index = dict(self._index)
        gone = [key for key in keys if index.pop(key, None) is not None]
        if not gone:
            return self
        return self._evolve(resources=tuple(r for r in self.resources if r.key in index),
                            index=index)

    def with_resources(self, resources: Iterable[ResourceState]) -> State:
        """Replaces all resources at once."""
        return replace(self, resources=tuple(resources))

    def with_pending(self, operation: PendingOperation) -> State:
        kept = [p for p in self.pending_operations if p.op_id != operation.op_id]
        return self._evolve(pending_operations=tuple(
            sorted((*kept, operation), key=PendingOperation.sort_key)))

    def without_pending(self, op_id: str) -> State:
        if self.pending(op_id) is None:
            return self
        return self._evolve(pending_operations=tuple(
            p for p in self.pending_operations if p.op_id != op_id))

    def with_plan_key(self, key: Sensitive[str]) -> State:
        """The state holding `key` as the secret its saved plans are signed with."""
        return replace(self, plan_key=key)

    def with_outputs(self, outputs: Mapping[str, OutputValue | Any]) -> State:
        """Replaces all outputs; plain values become non-sensitive `OutputValue`s."""
        return self._evolve(outputs=_sorted_outputs(outputs))
