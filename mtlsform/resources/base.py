"""What every resource type declares, so the engine can plan and apply it without knowing it.

A type says which instances a stack has, their configuration (with references to other
resources' attributes, which are the graph's only edges), how they are read back from a
refresh, which attribute changes update in place and which force a replacement, and how they
are acted on. It also states the facts the engine asks of it: whether it is local (no cloud
object), whose delete removes it (its cascade parent), what must be unique among its objects
(its exclusive key), which cloud collections refresh reads for it, how objects made by hand
under it are found, and its natural key for recovery.

One pure `diff(desired, current)` per type decides the action and the reason; plan and apply
both use it, and `update()` acts on the change list it recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.errors import InputError
from mtlsform.providers.base import Provider
from mtlsform.providers.together import Seat
from mtlsform.references import UNKNOWN
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack

Attributes = dict[str, Any]


@dataclass(frozen=True)
class Decision:
    """The outcome of comparing desired with current attributes."""

    action: Action
    reason: Reason
    detail: str | None = None
    replace_paths: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collection:
    """A kind of cloud object refresh reads, and the provider call that reads it.

    A root collection is read in one call for every ID wanted; a collection with `per` is read
    with one call for each object another collection returned (listeners per CLB), in parallel.
    """

    name: str
    read: Callable[[Provider, Sequence[str]], Mapping[str, Any]] | None = None
    per: Collection | None = None
    read_one: Callable[[Provider, str], Any] | None = None


@dataclass(frozen=True)
class CloudSnapshot:
    """Everything one refresh read: collection name -> object ID -> what the provider returned.

    `found` holds objects found by their natural key because the state has no record of them
    (a create interrupted before it was recorded, or a lost state): address -> ID.
    """

    collections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    found: Mapping[Address, str] = field(default_factory=dict)
    # Lookups the types build over what was read (a rule's targets by server), built once.
    _indexes: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, collection: str, ident: Any) -> Any:
        """One object, or None when it was not read or does not exist."""
        if not isinstance(ident, str):
            return None
        return self.collections.get(collection, {}).get(ident)

    def index(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """What `build()` returns, built at the first call for `key` and kept: a snapshot
        does not change, so lookups over it (by ID, by natural key) are built once."""
        try:
            return self._indexes[key]
        except KeyError:
            value = self._indexes[key] = build()
            return value


# How a certificate switched in place is confirmed: not at all; where the provider can reach
# the entry (the emulator: when a data plane serves its world); or always (`--verify-rotation`:
# an entry no handshake reaches counts as not presenting it).
RotationCheck = Literal["off", "reachable", "required"]


@dataclass
class ApplyContext:
    """What a resource needs while apply runs: the provider and the live state."""

    provider: Provider
    stack: Stack
    now: datetime
    lookup: Callable[[Address], Mapping[str, Any] | None]  # live attributes in state
    p12_password: Sensitive[str] | None = None
    op_id: str = ""
    # Whether a certificate switched in place is confirmed by a handshake (see RotationCheck),
    # and where a type's notes for people go.
    verify_rotation: RotationCheck = "off"
    note: Callable[[str], None] | None = None
    # This operation's place in the batch (see `batched_writes`) it started with: what a type
    # hands the provider so that it waits for the siblings still coming, to share calls.
    seat: Seat | None = None


class ImportRefused(InputError):
    """`mtlsform import` refused: the object does not exist, is of another kind, or does not
    match what the stack declares at the address."""


_SCALARS = (str, int, float, bool, type(None))


def differs(desired: Any, current: Any) -> bool:
    """Whether a desired value differs from the current one (unknown always differs)."""
    if desired is UNKNOWN:
        return True
    if isinstance(desired, _SCALARS):  # the common case, decided without recursion
        return bool(desired != current)
    if isinstance(desired, Mapping) and isinstance(current, Mapping):
        keys = set(desired) | set(current)
        return any(differs(desired.get(k), current.get(k)) for k in keys)
    if isinstance(desired, list | tuple) and isinstance(current, list | tuple):
        return len(desired) != len(current) or any(
            differs(a, b) for a, b in zip(desired, current, strict=True)
        )
    return bool(desired != current)


class ResourceType:
    """Base of the resource types; subclasses set the facts and attribute sets, and act."""

    name: str = ""
    # Facts the engine asks of a type.
    local: bool = False  # no cloud object: nothing to read, drift or delete
    cascade_parent: str | None = None  # the type whose delete removes this object with it
    # Writes to an object of this type and to everything under it (its cascade children, and
    # theirs) are one at a time: the cloud refuses a change while another runs (a CLB's task).
    serial_writes: bool = False
    # Writes of one action to siblings (the same cascade parent) may hold their serial lane
    # together: the provider merges them into shared calls (targets of one rule).
    batched_writes: bool = False
    collections: tuple[Collection, ...] = ()  # what refresh reads for this type
    id_collection: str | None = None  # the collection holding this type's objects by "id"
    # Attributes.
    force_new: frozenset[str] = frozenset()
    updatable: frozenset[str] = frozenset()
    computed: frozenset[str] = frozenset({"id"})
    sensitive: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()  # kept in state, left out of plans (PEM bodies)
    # Attributes present only when they hold a value (rare settings, so that plans and states
    # without them do not show them): one left out is compared as None.
    absent_as_none: frozenset[str] = frozenset()
    replace_action: Action = Action.REPLACE_DESTROY_FIRST
    # The shape of the attributes it records in the state (see `resources.shape`): every record
    # is checked against it when a state is read, and one that departs is refused as damage.
    recorded: Mapping[str, Any] = MappingProxyType({})

    # --- the stack side ------------------------------------------------------------------

    def instances(self, stack: Stack) -> Iterable[Address]:
        """The addresses of this type the stack declares."""
        raise NotImplementedError

    def config(self, stack: Stack, address: Address) -> Attributes:
        """The configuration from the stack; may hold Refs to other resources' attributes."""
        raise NotImplementedError

    def configs(self, stack: Stack) -> dict[Address, Attributes]:
        """Every instance's configuration, in `instances` order. A type with many instances
        may build them in one pass over the stack instead of looking each one up."""
        return {address: self.config(stack, address) for address in self.instances(stack)}

    # --- the cloud side ------------------------------------------------------------------

    def find(self, provider: Provider, stack: Stack,
             unrecorded: Sequence[Address]) -> Mapping[Address, str]:
        """IDs of objects the stack owns but the state does not record, found by natural key
        in the cloud (one call for all of them); only for types whose objects refresh cannot
        otherwise reach. Default: none."""
        return {}

    def found_by(self, stack: Stack, address: Address) -> Mapping[str, str]:
        """The tags (natural key values) by which `find` matched the object at `address`, to
        name them when a found object is reported. Default: none."""
        return {}

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        """What the cloud holds now, or None when it does not exist.

        `prior` is the state's record (None for a resource never applied); `desired` the
        evaluated configuration, used to find an object by its natural key when there is no
        record (an interrupted create, or an object made by hand).
        """
        raise NotImplementedError

    def natural_key(self, attrs: Mapping[str, Any]) -> Hashable:
        """What identifies an object without its ID (how an interrupted create is found)."""
        return attrs.get("id")

    def identity(self, attrs: Mapping[str, Any]) -> Hashable | None:
        """What tells this object apart from others under the same parent in the cloud (the
        key by which a recorded object claims a cloud one); None when unknown."""
        ident = attrs.get("id")
        return ident if isinstance(ident, str) else None

    def under(self, cloud: CloudSnapshot, parent: Address,
              parent_attrs: Mapping[str, Any]) -> list[tuple[Address, Attributes]]:
        """The objects of this type the cloud holds under `parent` (an object of the
        `cascade_parent` type), with the address each would have: how objects made by hand
        are found. Default: none."""
        return []

    def import_id(self, attrs: Mapping[str, Any]) -> str:
        """The ID `mtlsform import` takes for this object (a listener's `lb-x#lbl-y`), as the
        plan shows an object it starts managing. Default: its `id`."""
        return str(attrs.get("id"))

    def import_(self, provider: Provider, stack: Stack, address: Address, ident: str,
                recorded: Callable[[Address], Mapping[str, Any] | None]) -> Attributes:
        """The record of the existing object `ident` for `address` (`mtlsform import`), read
        from the cloud once it is checked to exist, to be of this type and to match the
        stack's natural key for the address; `recorded` gives the state's records (a
        listener's load balancer). Raises ImportRefused otherwise. Default: not importable."""
        raise ImportRefused(f"{address}: a {self.name} cannot be imported",
                            hint="import the cloud objects it belongs to")

    def claimants(self, provider: Provider, stack: Stack,
                  attrs: Mapping[str, Any]) -> list[str]:
        """What says that an object found in the cloud, about to be imported by a plan,
        belongs to another stack ("stack NAME (the tag ... on ...)"), read from the cloud;
        such an object is refused unless handed over with `mtlsform import`. Default: none."""
        return []

    def owned(self, attrs: Mapping[str, Any]) -> bool:
        """Whether the stack created this object (removing it deletes it) or only uses it
        (removing it forgets it). Default: owned."""
        return True

    def plan_warnings(self, current: Mapping[str, Any] | None, *, now: datetime, stack: Stack,
                      address: Address) -> list[str]:
        """What a reviewer must know about this object that no change of the plan says (e.g.
        a certificate mtlsform cannot renew, inside its window). Default: nothing."""
        return []

    def consequences(self, provider: Provider, action: Action,
                     before: Mapping[str, Any] | None, owned_ids: frozenset[str]) -> list[str]:
        """What a planned `action` on this object does beyond the stack (read from the cloud
        after planning: e.g. load balancers outside the stack that still use it); `owned_ids`
        are the IDs the state records. Default: nothing."""
        return []

    def removal_detail(self, attrs: Mapping[str, Any]) -> str | None:
        """What deleting this object, because the stack no longer declares it, leaves true
        that a reviewer must read in the plan (a client certificate still valid). Default:
        nothing."""
        return None

    def left_in_place(self, attrs: Mapping[str, Any]) -> Reason:
        """Why an object the stack does not own is forgotten rather than deleted."""
        return Reason.ADOPTED

    def exclusive_keys(self, attrs: Mapping[str, Any]) -> frozenset[Hashable]:
        """Values no two live objects of this type may share (a listener's port on its CLB;
        each of a rule's domains on its listener): an object that takes one, created or
        updated, waits for the deletes and updates that free it. Default: none."""
        return frozenset()

    # --- deciding ------------------------------------------------------------------------

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        return compare(desired, current, self.force_new, self.updatable, self.replace_action,
                       self.absent_as_none)

    def drifted(self, recorded: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
        """Whether the cloud's object differs from what the state recorded (a local resource
        has no cloud object, so it never drifts). An attribute the record does not hold (a
        record made by an mtlsform that did not know it yet) has nothing to drift from."""
        if self.local:
            return False
        if current is None:
            return True
        if recorded == current:  # the usual case, at C speed: no value differs (none unknown)
            return False
        return any(differs(recorded.get(k), current.get(k))
                   for k in _compared(self.force_new, self.updatable)
                   if k in recorded or k in self.absent_as_none)

    def planned(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
                action: Action, changed: Sequence[str] = ()) -> Attributes:
        """The attributes after apply as far as the plan knows them (`changed`: the
        attributes the decision changes)."""
        after = dict(current or {}) if not action.creates else {}
        for name in self.absent_as_none - desired.keys():  # left out: there is none after
            after.pop(name, None)
        after.update(desired)
        if action.creates:
            for name in self.computed:
                after.setdefault(name, UNKNOWN)
                if name not in desired:
                    after[name] = UNKNOWN
        return after

    def shown(self, attrs: Mapping[str, Any] | None) -> Attributes | None:
        """Attributes as a plan shows them: no secrets, no PEM bodies."""
        if attrs is None:
            return None
        left_out = _union(self.sensitive, self.hidden)
        return {k: v for k, v in sorted(attrs.items()) if k not in left_out}

    # --- acting --------------------------------------------------------------------------

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        raise NotImplementedError

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        """Changes `changed` (the attributes the plan recorded) in place."""
        raise NotImplementedError

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        raise NotImplementedError

    # --- requirements (see NEEDS_* at the end of this module) -----------------------------------

    def requirements(self, action: Action,
                     config: Mapping[str, Any] | None) -> frozenset[str]:
        """What applying `action` with this configuration needs: NEEDS_* names (default none)."""
        return frozenset()


@functools.cache
def _compared(force_new: frozenset[str], updatable: frozenset[str]) -> tuple[str, ...]:
    """The attributes a decision compares, sorted (per type: computed once)."""
    return tuple(sorted(force_new | updatable))


@functools.cache
def _union(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    return first | second


def compare(desired: Mapping[str, Any], current: Mapping[str, Any] | None,
            force_new: frozenset[str], updatable: frozenset[str],
            replace_action: Action, absent_as_none: frozenset[str] = frozenset()) -> Decision:
    """The generic decision: create if missing, replace on a force-new change, else update.
    An attribute the configuration leaves out is not compared, unless it is one of
    `absent_as_none` (left out when it has no value): then it is compared as None."""
    if current is None:
        return Decision(Action.CREATE, Reason.NEW)
    changed = tuple(
        name for name in _compared(force_new, updatable)
        if (name in desired or name in absent_as_none)
        and differs(desired.get(name), current.get(name))
    )
    forced = tuple(name for name in changed if name in force_new)
    if forced:
        return Decision(
            replace_action,
            Reason.CANNOT_UPDATE,
            detail=f"{', '.join(forced)} cannot be changed in place",
            replace_paths=forced,
            changed=changed,
        )
    if changed:
        return Decision(Action.UPDATE, Reason.CHANGED, changed=changed)
    return Decision(Action.NOOP, Reason.MATCHES)


# --- What applying a change needs from the person running it ------------------------------------
# Names `ResourceType.requirements` returns; the session and the CLI ask these questions of the
# plan instead of naming resource types.

NEEDS_STATE_SECRETS = "state_secrets"  # applying records new private keys in the state
NEEDS_P12_PASSWORD = "p12_password"  # applying writes a PKCS#12 file (it needs a password)
