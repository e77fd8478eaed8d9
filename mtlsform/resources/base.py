"""What every resource type declares: its configuration from the stack, how it is read back,
which attribute changes update in place and which force a replacement, and how it is acted on.

One pure `diff(desired, current)` per type decides the action; plan and apply both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mtlsform.addresses import Address
from mtlsform.plan.model import REPLACE_CANNOT_UPDATE, Action
from mtlsform.plan.values import UNKNOWN
from mtlsform.providers.base import (
    CertificateInfo,
    ListenerInfo,
    LoadBalancerInfo,
    Provider,
)
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack


@dataclass(frozen=True)
class Decision:
    """The outcome of comparing desired with current attributes."""

    action: Action
    reason: str | None = None
    detail: str | None = None
    replace_paths: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CloudSnapshot:
    """Everything one refresh read: CLBs, their listeners (with rules and targets), certificates.

    `listeners[lb_id]` is None when the CLB is gone.
    """

    load_balancers: Mapping[str, LoadBalancerInfo] = field(default_factory=dict)
    listeners: Mapping[str, Mapping[str, ListenerInfo] | None] = field(default_factory=dict)
    certificates: Mapping[str, CertificateInfo] = field(default_factory=dict)
    # CLBs found by their mtlsform:address tag because the state has no record of them
    # (a create interrupted before it was recorded, or a lost state): address -> CLB ID.
    tagged: Mapping[str, str] = field(default_factory=dict)

    def listener(self, lb_id: Any, listener_id: Any) -> ListenerInfo | None:
        listeners = self.listeners.get(lb_id) if isinstance(lb_id, str) else None
        if not listeners or not isinstance(listener_id, str):
            return None
        return listeners.get(listener_id)


@dataclass
class ApplyContext:
    """What a resource needs while apply runs: the provider and the live state."""

    provider: Provider
    stack: Stack
    now: datetime
    lookup: Callable[[Address], Mapping[str, Any] | None]  # live attributes in state
    deleted_in_run: Callable[[Address], bool]  # is that address deleted by this apply?
    p12_password: Sensitive[str] | None = None
    op_id: str = ""


def differs(desired: Any, current: Any) -> bool:
    """Whether a desired value differs from the current one (unknown always differs)."""
    if desired is UNKNOWN:
        return True
    if isinstance(desired, Mapping) and isinstance(current, Mapping):
        keys = set(desired) | set(current)
        return any(differs(desired.get(k), current.get(k)) for k in keys)
    if isinstance(desired, list | tuple) and isinstance(current, list | tuple):
        return len(desired) != len(current) or any(
            differs(a, b) for a, b in zip(desired, current, strict=True)
        )
    return desired != current


class ResourceType:
    """Base of the six resource types; subclasses set the attribute sets and act."""

    name: str = ""
    force_new: frozenset[str] = frozenset()
    updatable: frozenset[str] = frozenset()
    computed: frozenset[str] = frozenset({"id"})
    sensitive: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()  # kept in state, left out of plans (PEM bodies)
    replace_action: Action = Action.REPLACE_DESTROY_FIRST

    def config(self, stack: Stack, address: Address) -> dict[str, Any]:
        """The configuration from the stack; may hold Refs to other resources' attributes."""
        raise NotImplementedError

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """What the cloud holds now, or None when it does not exist.

        `prior` is the state's record (None for a resource never applied); `desired` the
        evaluated configuration, used to find an object by its natural key when there is no
        record (an interrupted create, or an object made by hand).
        """
        raise NotImplementedError

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        return compare(desired, current, self.force_new, self.updatable, self.replace_action)

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def planned(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
                action: Action) -> dict[str, Any]:
        """The attributes after apply as far as the plan knows them."""
        after = dict(current or {}) if not action.creates else {}
        after.update(desired)
        if action.creates:
            for name in self.computed:
                after.setdefault(name, UNKNOWN)
                if name not in desired:
                    after[name] = UNKNOWN
        return after

    # --- requirements (see NEEDS_* at the end of this module) -----------------------------------

    def requirements(self, action: Action,
                     config: Mapping[str, Any] | None) -> frozenset[str]:
        """What applying `action` with this configuration needs: NEEDS_* names (default none)."""
        return frozenset()


def compare(desired: Mapping[str, Any], current: Mapping[str, Any] | None,
            force_new: frozenset[str], updatable: frozenset[str],
            replace_action: Action) -> Decision:
    """The generic decision: create if missing, replace on a force-new change, else update."""
    if current is None:
        return Decision(Action.CREATE)
    changed = tuple(
        name for name in sorted(force_new | updatable)
        if name in desired and differs(desired.get(name), current.get(name))
    )
    forced = tuple(name for name in changed if name in force_new)
    if forced:
        return Decision(
            replace_action,
            REPLACE_CANNOT_UPDATE,
            detail=f"{', '.join(forced)} cannot be changed in place",
            replace_paths=forced,
            changed=changed,
        )
    if changed:
        return Decision(Action.UPDATE, changed=changed)
    return Decision(Action.NOOP)


# --- What applying a change needs from the person running it ------------------------------------
# Names `ResourceType.requirements` returns; the session and the CLI ask these questions of the
# plan instead of naming resource types.

NEEDS_STATE_SECRETS = "state_secrets"  # applying records new private keys in the state
NEEDS_P12_PASSWORD = "p12_password"  # applying writes a PKCS#12 file (it needs a password)
