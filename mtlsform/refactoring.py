"""`state rm` and `state mv`: the state edited under its lock, the cloud untouched.

`state rm` forgets resources (and what is nested under them in the address scheme: a
listener's rules and targets); `state mv` renames an address and moves what is nested under
it along (plan/moves.py). Both read the state as `plan` does (checked, damage refused), take
its lock, and write it once through the store, which keeps the state as it was as the backup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mtlsform.addresses import Address
from mtlsform.errors import InputError, StateError
from mtlsform.plan.moves import Move, move_problem, nested_under, renamed, renames
from mtlsform.plan.targeting import parse_addresses
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.graph import resource_graph
from mtlsform.session import checked_state, location_path, store_for
from mtlsform.stack.model import Stack
from mtlsform.state.model import State
from mtlsform.state.store import StateStore


@dataclass(frozen=True)
class StateEdit:
    """What a state edit did: the addresses it touched (old -> new for a move, old -> None
    for a removal), the files, and the removed addresses the stack still declares."""

    state_path: Path  # the store's location (a file, or pg:..., cos:...)
    backup: str  # where the state before is kept: the backup file, or the backend's history
    serial: int
    changed: Mapping[Address, Address | None]
    still_declared: tuple[Address, ...] = ()
    local: tuple[Address, ...] = ()  # removed records with no cloud object (keys kept there)


def _open(stack: Stack, state_path: Path | None, operation: str, lock_timeout: float,
          environ: Mapping[str, str] | None) -> StateStore:
    return store_for(stack, state_path, operation=operation, lock_timeout=lock_timeout,
                     environ=environ)


def _read(store: StateStore, stack: Stack) -> State:
    stored = store.read()
    if stored is None:
        raise StateError(f"no state at {store.location}: {stack.path} has not been applied "
                         "yet", hint="there is nothing to change in it")
    state = checked_state(stored, location_path(store))
    if state.stack != stack.name:
        raise StateError(f"{store.location} is the state of stack {state.stack!r}, not of "
                         f"{stack.name!r}", hint="point --state at this stack's state")
    return state


def _not_recorded(address: Address, stack: Stack) -> InputError:
    return InputError(f"{address} is not in the state",
                      hint=f"`mtlsform state list {stack.path}` lists what is")


def remove(stack: Stack, texts: Sequence[str], *, state_path: Path | None = None,
           lock_timeout: float = 0.0, environ: Mapping[str, str] | None = None) -> StateEdit:
    """Forgets the resources at these addresses, and those nested under them; the cloud is
    not read or written."""
    wanted = parse_addresses(texts, "state rm")
    with _open(stack, state_path, "state rm", lock_timeout, environ) as store:
        state = _read(store, stack)
        recorded = {r.address for r in state.resources}
        for address in wanted:
            if address not in recorded:
                raise _not_recorded(address, stack)
        gone = sorted({r.address for r in state.resources
                       if r.address in wanted or any(nested_under(r.address, w)
                                                     for w in wanted)})
        busy = sorted({p.address for p in state.pending_operations if p.address in gone})
        if busy:
            raise StateError(f"an interrupted run left an operation on {busy[0]} in flight",
                             hint="run `mtlsform apply` to recover it first")
        new = state.with_resources(r for r in state.resources if r.address not in gone)
        written = store.write(new)
        declared = set(resource_graph(stack).nodes)
        return StateEdit(location_path(store), store.kept_before, written.serial,
                         dict.fromkeys(gone),
                         tuple(a for a in gone if a in declared),
                         tuple(a for a in gone if RESOURCE_TYPES[a.type].local))


def move(stack: Stack, source_text: str, destination_text: str, *,
         state_path: Path | None = None, lock_timeout: float = 0.0,
         environ: Mapping[str, str] | None = None) -> StateEdit:
    """Renames the resource at `source` to `destination` (of the same kind), with what is
    nested under it; refused when the destination is taken."""
    source = parse_addresses([source_text], "state mv")[0]
    destination = parse_addresses([destination_text], "state mv")[0]
    step = Move(source, destination)
    with _open(stack, state_path, "state mv", lock_timeout, environ) as store:
        state = _read(store, stack)
        problem = move_problem(state, step)
        if problem is not None:
            if state.get(source) is None:
                raise _not_recorded(source, stack)
            raise InputError(f"cannot move {source} to {destination}: {problem}")
        mapping = renames(state, step)
        written = store.write(renamed(state, mapping))
        return StateEdit(location_path(store), store.kept_before, written.serial, dict(mapping))
