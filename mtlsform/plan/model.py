"""The plan model: actions, reasons and resource changes as plain frozen data, with no I/O.

What to do (Action) and why (reason, a snake_case code for machines plus a sentence for people)
are kept apart; apply carries out the recorded actions and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from mtlsform.addresses import Address
from mtlsform.diagnostics import Diagnostic

PLAN_FORMAT_VERSION = 1


class Action(Enum):
    NOOP = ("no-op",)
    CREATE = ("create",)
    UPDATE = ("update",)
    DELETE = ("delete",)
    REPLACE_DESTROY_FIRST = ("delete", "create")
    REPLACE_CREATE_FIRST = ("create", "delete")
    FORGET = ("forget",)

    @property
    def json(self) -> list[str]:
        return list(self.value)

    @property
    def is_replace(self) -> bool:
        return self in (Action.REPLACE_DESTROY_FIRST, Action.REPLACE_CREATE_FIRST)

    @property
    def creates(self) -> bool:
        return "create" in self.value

    @property
    def deletes(self) -> bool:
        return "delete" in self.value

    @classmethod
    def from_json(cls, actions: list[str]) -> Action:
        for action in cls:
            if list(action.value) == list(actions):
                return action
        raise ValueError(f"unknown plan action {actions!r}")


# Reason codes (display hints; consumers must tolerate codes they do not know).
REPLACE_CANNOT_UPDATE = "replace_because_cannot_update"
REPLACE_EXPIRING = "replace_because_expiring"
REPLACE_TAINTED = "replace_because_tainted"
CREATE_MISSING = "create_because_deleted_outside"
DELETE_NO_CONFIG = "delete_because_no_resource_config"
DELETE_UNMANAGED = "delete_because_unmanaged"
DELETE_DEPOSED = "delete_because_deposed"
DELETE_DESTROY = "delete_because_destroy"
FORGET_ADOPTED = "forget_because_adopted"
UPDATE_DRIFT = "update_because_changed_outside"


@dataclass(frozen=True)
class ResourceChange:
    """One planned change to one resource.

    `before` is what the resource is now (refreshed), `after` what it will be; values apply
    will compute are UNKNOWN in `after`. `config` is the resource's configuration with its
    references still unresolved: apply evaluates it against the state as it is at that moment.
    Sensitive attributes never appear in `before`/`after` (their names are in `sensitive`).
    """

    address: Address
    action: Action
    reason: str | None = None
    detail: str | None = None  # the reason in words, e.g. "expires in 12 days"
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    config: Mapping[str, Any] | None = None
    replace_paths: tuple[str, ...] = ()
    sensitive: frozenset[str] = frozenset()
    dependencies: tuple[Address, ...] = ()
    deposed: str | None = None

    @property
    def type(self) -> str:
        return self.address.type

    def sort_key(self) -> tuple:
        return (self.address.sort_key(), self.deposed or "")


@dataclass(frozen=True)
class Drift:
    """A resource that changed outside mtlsform since the last apply."""

    address: Address
    before: Mapping[str, Any]  # as recorded in state
    after: Mapping[str, Any] | None  # as the cloud holds it now; None: deleted


@dataclass(frozen=True)
class OutputChange:
    name: str
    before: Any = None
    after: Any = None
    after_unknown: bool = False


@dataclass(frozen=True)
class Plan:
    stack: str
    mode: str  # "normal" | "destroy"
    changes: tuple[ResourceChange, ...]
    drift: tuple[Drift, ...] = ()
    outputs: tuple[OutputChange, ...] = ()
    prior_lineage: str | None = None
    prior_serial: int | None = None
    refreshed: bool = True
    warnings: tuple[Diagnostic, ...] = ()
    interrupted_operations: tuple[str, ...] = ()  # pending intents found from a previous run
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actionable(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable) or any(
            o.after_unknown or o.before != o.after for o in self.outputs
        )

    def counts(self) -> dict[str, int]:
        """Add / change / destroy / forget counts as the summary line shows them."""
        counts = {"add": 0, "change": 0, "destroy": 0, "forget": 0}
        for change in self.actionable:
            if change.action.creates:
                counts["add"] += 1
            if change.action.deletes:
                counts["destroy"] += 1
            if change.action is Action.UPDATE:
                counts["change"] += 1
            if change.action is Action.FORGET:
                counts["forget"] += 1
        return counts
