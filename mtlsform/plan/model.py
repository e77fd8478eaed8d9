"""The plan model: actions, reasons and resource changes as plain frozen data, with no I/O.

What to do (Action) and why (Reason, a code for machines plus a sentence for people) are kept
apart; apply carries out the recorded actions and explicit fields, and never reads a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.diagnostics import Diagnostic

PLAN_FORMAT_VERSION = 1

__all__ = ["Action", "Drift", "FoundNote", "OutputChange", "Plan", "Reason", "ResourceChange",
           "count_steps"]


@dataclass(frozen=True)
class ResourceChange:
    """One planned change to one resource: the whole contract between plan and apply.

    `before` is what the resource is now (refreshed), `after` what it will be; values apply
    will compute are UNKNOWN in `after`. `config` is the resource's configuration with its
    references still unresolved: apply evaluates it against the state as it is at that moment.
    `changed` lists the attributes an update or replacement changes: `update()` acts on exactly
    these. `unmanaged` holds the attributes of an object the cloud has under a managed parent
    but no stack declares (a target bound by hand), which the change deletes. `importing` is
    the import ID of an object found in the cloud that the change starts managing (apply
    records it). `reason` only explains. Sensitive attributes never appear in
    `before`/`after` (their names are in `sensitive`).
    """

    address: Address
    action: Action
    reason: Reason
    detail: str | None = None  # the reason in words, e.g. "expires in 12 days"
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    config: Mapping[str, Any] | None = None
    changed: tuple[str, ...] = ()
    replace_paths: tuple[str, ...] = ()
    sensitive: frozenset[str] = frozenset()
    dependencies: tuple[Address, ...] = ()
    deposed: str | None = None
    unmanaged: Mapping[str, Any] | None = None
    moved_from: Address | None = None  # the address the state recorded it at (`moved:`)
    # The import ID of an object the cloud holds with no record in the state, found by its
    # natural key, that this change starts managing ("will be imported"); None otherwise.
    importing: str | None = None

    @property
    def type(self) -> str:
        return self.address.type

    def sort_key(self) -> tuple[tuple[int, str, str, str, str], str]:
        return (self.address.sort_key(), self.deposed or "")


@dataclass(frozen=True)
class Drift:
    """A resource that changed outside mtlsform since the last apply."""

    address: Address
    before: Mapping[str, Any]  # as recorded in state
    after: Mapping[str, Any] | None  # as the cloud holds it now; None: deleted


@dataclass(frozen=True)
class FoundNote:
    """An object refresh found in the cloud by its ownership tags, with no record in the state:
    always announced. `how` is "interrupted" (the create of a run killed mid-call, taken back)
    or "adopted" (taken over with --adopt-found)."""

    address: Address
    ident: str
    how: str

    def describe(self) -> str:
        taken = ("the create of an interrupted run, taken back" if self.how == "interrupted"
                 else "adopted (--adopt-found)")
        return f"{self.address}: found by its tags: {self.ident} ({taken})"


@dataclass(frozen=True)
class OutputChange:
    name: str
    before: Any = None
    after: Any = None
    after_unknown: bool = False


@dataclass(frozen=True)
class Plan:
    stack: str
    mode: str  # "normal" | "destroy" | "refresh-only"
    changes: tuple[ResourceChange, ...]
    drift: tuple[Drift, ...] = ()
    outputs: tuple[OutputChange, ...] = ()
    prior_lineage: str | None = None
    prior_serial: int | None = None
    refreshed: bool = True
    warnings: tuple[Diagnostic, ...] = ()
    interrupted_operations: tuple[str, ...] = ()  # pending intents found from a previous run
    # --target: the plan covers only these and what they depend on (a partial plan)
    targets: tuple[Address, ...] = ()
    workspace: str = "default"  # the environment planned (--workspace)
    found: tuple[FoundNote, ...] = ()  # objects found by their tags: always announced

    @property
    def partial(self) -> bool:
        return bool(self.targets)

    @property
    def moves(self) -> tuple[tuple[Address, Address], ...]:
        """(from, to) of every resource the plan moves to a new address."""
        found = []
        for change in self.changes:
            if change.moved_from is not None and change.deposed is None:
                found.append((change.moved_from, change.address))
        return tuple(found)

    @property
    def actionable(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def importing(self) -> tuple[ResourceChange, ...]:
        """The changes that start managing an object found in the cloud."""
        return tuple(c for c in self.changes if c.importing is not None)

    @property
    def has_changes(self) -> bool:
        if self.mode == "refresh-only":  # what it records: the drift
            return bool(self.drift)
        return bool(self.actionable) or bool(self.importing) or any(
            o.after_unknown or o.before != o.after for o in self.outputs
        )

    def counts(self) -> dict[str, int]:
        """Add / change / destroy / forget counts as the summary line shows them."""
        return count_steps(step for change in self.actionable for step in change.action.value)


# What each step of an action counts as in a summary; a replacement counts once as an add and
# once as a destroy, whether the replaced object is in the cloud or local (a certificate).
COUNTED_AS = {"create": "add", "update": "change", "delete": "destroy", "forget": "forget"}


def count_steps(steps: Iterable[str]) -> dict[str, int]:
    """Add / change / destroy / forget counts of action steps (`Action.value` items): the plan
    counts every step of its changes, the apply summary the steps that were carried out."""
    counts = dict.fromkeys(COUNTED_AS.values(), 0)
    for step in steps:
        if step in COUNTED_AS:
            counts[COUNTED_AS[step]] += 1
    return counts
