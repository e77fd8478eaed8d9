"""A lost state is never a fresh stack: what plan refuses when the state looks lost.

Two signs, each refused with what was found and what to do about it:

- the state file is missing but its backup (`<state>.backup`) is there: a state that existed
  was deleted or moved, so the run stops before reading the cloud;
- refresh found objects of this stack by their tags (`ResourceType.find`) for addresses the
  state does not record. An address the state holds an intent for (a pending operation left by
  a run that was killed mid-call) is a create that landed but was never recorded: that object
  is adopted as before, which is how a crash is recovered. Any other found object belongs to a
  state that is not this one (lost, elsewhere, or another environment's under the same stack
  name) and is adopted only when asked (`--adopt-found`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mtlsform.addresses import Address
from mtlsform.errors import PlanError, StateError
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.base import CloudSnapshot
from mtlsform.stack.model import Stack
from mtlsform.state.local import backup_path, default_state_path, read_state
from mtlsform.state.model import State
from mtlsform.state.workspaces import DEFAULT_WORKSPACE, local_workspaces

ADOPT_FLAG = "--adopt-found"
IGNORE_BACKUP_FLAG = "--ignore-backup"


@dataclass(frozen=True)
class FoundObject:
    """An object refresh found by its tags for an address the state does not record."""

    address: Address
    ident: str
    tags: Mapping[str, str]
    interrupted: bool  # the state holds an intent for the address: a create that landed

    def describe(self) -> str:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))
        return f"{self.address}: {self.ident}" + (f" (tags {tags})" if tags else "")


def found_objects(cloud: CloudSnapshot, state: State | None, stack: Stack) -> list[FoundObject]:
    """The objects refresh found by their tags, in address order."""
    pending = {op.address for op in (state.pending_operations if state is not None else ())}
    return [FoundObject(address, ident, RESOURCE_TYPES[address.type].found_by(stack, address),
                        address in pending)
            for address, ident in sorted(cloud.found.items())]


def adoption_detail(found: FoundObject) -> str:
    """The plan's sentence for a found object it adopts."""
    tags = ", ".join(f"{k}={v}" for k, v in sorted(found.tags.items()))
    how = f"by its tags {tags}" if tags else "by its natural key"
    return (f"{found.ident} was found in the cloud {how} with no record in the state: "
            f"it will be adopted ({ADOPT_FLAG})")


def restore_command(stack: Stack, state_path: Path) -> str:
    """The command that puts the backup of `state_path` back."""
    default = default_state_path(stack.path, stack.name)
    where = "" if Path(state_path) == default else f" --state {state_path}"
    if stack.workspace != DEFAULT_WORKSPACE:
        where = f" --workspace {stack.workspace}"
    return f"mtlsform state restore {stack.path}{where}"


def recorded_elsewhere(found: list[FoundObject], stack: Stack, state_path: Path,
                       lineage: str) -> list[tuple[FoundObject, Path, str]]:
    """The found objects that another local state of the stack records (another workspace's
    file, or the default file while --state names another), with that state's lineage. Those
    states are only read: a damaged or unreadable one is not this run's to judge."""
    if not found:
        return []
    here = Path(state_path).resolve()
    hits = []
    for path in local_workspaces(default_state_path(stack.path, stack.name),
                                 stack.name).values():
        if path.resolve() == here:
            continue
        try:
            other = read_state(path)
        except StateError:
            continue
        if other is None or other.lineage == lineage or other.stack != stack.name:
            continue
        ids = {r.attributes.get("id") for r in other.resources}
        hits += [(f, path, other.lineage) for f in found if f.ident in ids]
    return hits


def refuse_recorded_elsewhere(found: list[FoundObject], stack: Stack, state_path: Path,
                              lineage: str) -> None:
    """Refuses objects found by their tags that another state records: taking them over (even
    with --adopt-found) would make two states fight over one object."""
    hits = recorded_elsewhere(found, stack, state_path, lineage)
    if not hits:
        return
    lines = "\n".join(f"  {f.describe()}: recorded in {path} (lineage {other})"
                      for f, path, other in hits)
    count = "an object" if len(hits) == 1 else f"{len(hits)} objects"
    raise PlanError(
        f"the cloud holds {count} of stack {stack.name!r} found by tags that another state "
        f"records, not the state {state_path}:\n{lines}\ntaking it over would make the two "
        "states fight over it (each apply undoing the other's)",
        hint="to keep two environments of one stack apart, give each its own workspace "
             "(--workspace NAME, or MTLSFORM_WORKSPACE): the objects it makes carry the "
             "tag mtlsform:workspace=NAME and no other workspace finds them; or use the state "
             "that records them (leave out --state)")


def refuse_missing_state(stack: Stack, state_path: Path, *, ignore_backup: bool) -> None:
    """Refuses to plan on a missing state file whose backup is there (unless ignored)."""
    backup = backup_path(state_path)
    if ignore_backup or Path(state_path).exists() or not backup.exists():
        return
    raise StateError(
        f"the state file {state_path} is missing, but its backup {backup} is there: the state "
        f"of stack {stack.name!r} seems lost, and planning without it would create again what "
        "it records (a new CA would lock out every client certificate issued)",
        hint=f"restore the backup with `{restore_command(stack, state_path)}`, or point "
             f"--state at the right file; {IGNORE_BACKUP_FLAG} plans without it")


def refuse_found(found: list[FoundObject], stack: Stack, state_path: Path, *,
                 adopt: bool, destroy: bool = False) -> None:
    """Refuses objects found by their tags that neither the state nor an intent accounts for,
    unless adoption was asked for (a destroy cannot adopt: it deletes what the state records)."""
    strays = [f for f in found if not f.interrupted]
    if (adopt and not destroy) or not strays:
        return
    lines = "\n".join(f"  {f.describe()}" for f in strays)
    count = "an object" if len(strays) == 1 else f"{len(strays)} objects"
    what = ("it" if len(strays) == 1 else "them")
    options = []
    if backup_path(state_path).exists():
        options.append(f"restore the backup with `{restore_command(stack, state_path)}`")
    default = default_state_path(stack.path, stack.name)
    if Path(state_path) != default and default.exists():
        options.append(f"use the stack's default state {default} (leave out --state)")
    options += [
        "point --state at the state that records " + what,
        "give a second environment its own workspace (--workspace NAME), so it has objects "
        "of its own",
        f"or adopt {what} with `mtlsform apply {ADOPT_FLAG}` before destroying" if destroy
        else f"or pass {ADOPT_FLAG} to take {what} over into {state_path}",
    ]
    raise PlanError(
        f"the cloud holds {count} of stack {stack.name!r} that the state {state_path} does "
        f"not record, found by {'its' if len(strays) == 1 else 'their'} tags:\n{lines}\n"
        "planning as if the stack were new would take "
        f"{what} over and change {what} (certificates swapped, rules replaced)",
        hint="; ".join(options))
