"""Copy-on-write drafts of the world: a transaction copies what it touches and shares the rest.

A committed WorldState is never changed again (readers keep it as a snapshot). A transaction
works on a draft made by `draft_of(committed)`:

- the top-level maps (instances, certificates, load balancers, tasks) are new dicts over the
  same objects — a copy of references, not of objects;
- `draft.load_balancers` is a `CowDict`: reaching a load balancer through it (`[lb_id]`, `.get`,
  `.values()`, `.items()`) gives the draft its own shallow copy of it, whose `listeners` is again
  a `CowDict`; reaching a listener gives the draft its own deep copy of that listener (rules,
  targets, certificate bindings). So a write costs the size of one listener, not of the world,
  and whatever a handler reaches it may change;
- scans that only read many objects use `shared_values(mapping)`, which copies nothing: what it
  yields is shared with committed versions and must not be changed;
- certificates, instances and tasks are replaced whole, never changed in place (a handler
  builds a new record, or uses `dataclasses.replace`).

`seal(draft)` turns the draft's CowDicts back into plain dicts before it is committed.
`deep_copy` is the fast deep copy used for listeners and for `World.snapshot()`: the world holds
only dataclasses, lists, dicts and immutable scalars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

_ATOMS = frozenset({str, int, float, bool, type(None), bytes})


def deep_copy(value: Any) -> Any:
    """A deep copy of world data (dataclasses, lists, dicts, scalars), several times faster than
    `copy.deepcopy` (no memo: the world is a tree)."""
    cls = value.__class__
    if cls in _ATOMS:
        return value
    if cls is list:
        return [item if item.__class__ in _ATOMS else deep_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: item if item.__class__ in _ATOMS else deep_copy(item)
                for key, item in value.items()}
    if hasattr(cls, "__dataclass_fields__"):
        new = object.__new__(cls)
        new.__dict__.update({name: item if item.__class__ in _ATOMS else deep_copy(item)
                             for name, item in value.__dict__.items()})
        return new
    if cls is tuple:
        return tuple(deep_copy(item) for item in value)
    raise TypeError(f"cannot copy a {cls.__name__} held in the world")


def shallow_copy(value: Any) -> Any:
    """A new dataclass object with the same field values."""
    new = object.__new__(value.__class__)
    new.__dict__.update(value.__dict__)
    return new


def shared_values(mapping: dict[Any, Any]) -> Any:
    """The values of a world mapping (a draft's or a committed one) without copying any: for
    scans that only read. Never change what this yields."""
    return dict.values(mapping)


class CowDict(dict):  # type: ignore[type-arg]
    """A draft's dict over a committed one: a value is copied the first time it is reached
    (by key or by iterating values or items), and from then on belongs to the draft."""

    __slots__ = ("_base", "_clone", "_own")

    def __init__(self, base: dict[Any, Any], clone: Callable[[Any], Any]) -> None:
        dict.__init__(self, base)
        self._base = base
        self._clone = clone
        self._own: set[Any] = set()

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if key not in self._own:
            value = self._clone(value)
            dict.__setitem__(self, key, value)
            self._own.add(key)
        return value

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[key] for key in list(dict.keys(self))]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(key, self[key]) for key in list(dict.keys(self))]

    def get(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            return default
        return self[key]

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        if value is dict.get(self._base, key):  # the committed object put back: shared again
            self._own.discard(key)
        else:
            self._own.add(key)

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        self._own.discard(key)

    def pop(self, key: Any, *default: Any) -> Any:
        """Removes a key; the value returned may be shared: do not change it."""
        self._own.discard(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = dict.popitem(self)
        self._own.discard(key)
        return key, value

    def clear(self) -> None:
        dict.clear(self)
        self._own.clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def owned(self) -> Iterator[Any]:
        """The keys whose values belong to the draft (copied, new, or replaced)."""
        return iter(list(self._own))

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        copied: dict[Any, Any] = deep_copy(dict(self))
        return copied

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


def _own_load_balancer(lb: Any) -> Any:
    """The draft's copy of a load balancer: its fields, and its listeners copied on lookup."""
    new = shallow_copy(lb)
    new.tags = deep_copy(lb.tags)
    new.listeners = CowDict(lb.listeners, deep_copy)
    return new


def draft_of(state: Any) -> Any:
    """A draft of a committed WorldState (see the module docstring)."""
    draft = shallow_copy(state)
    draft.instances = dict(state.instances)
    draft.certificates = dict(state.certificates)
    draft.load_balancers = CowDict(state.load_balancers, _own_load_balancer)
    draft.tasks = dict(state.tasks)
    draft.configs = dict(state.configs)
    draft.delete_tasks = dict(state.delete_tasks)
    return draft


def seal(draft: Any) -> None:
    """Plain dicts again, before the draft is committed (a committed state holds no CowDict)."""
    lbs = draft.load_balancers
    if isinstance(lbs, CowDict):
        for lb_id in lbs.owned():
            lb = dict.__getitem__(lbs, lb_id)
            if isinstance(lb.listeners, CowDict):
                lb.listeners = dict(lb.listeners)
        draft.load_balancers = dict(lbs)
    for name in ("instances", "certificates", "tasks", "configs", "delete_tasks"):
        value = getattr(draft, name)
        if value.__class__ is not dict:
            setattr(draft, name, dict(value))

