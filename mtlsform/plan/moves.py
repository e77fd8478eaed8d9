"""Renames of resource addresses: the stack's `moved:` entries and `state mv`.

A move renames one address and, where the address scheme nests, every address under it: a
record whose address extends the moved one (the same name, then more parts) and whose type is
below the moved one's type in the cascade chain moves with it (a listener's rules and their
targets). The types say which type is under which (`cascade_parent`); this module names none.

The planner applies the stack's moves to the prior state before the diff, so a renamed
resource keeps its cloud object and the plan notes where it moved from; the executor writes
the renames when the plan is applied. The checks of `moved:` entries are positioned
diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from mtlsform.addresses import Address, AddressError
from mtlsform.diagnostics import Diagnostic, error, warning
from mtlsform.resources import RESOURCE_TYPES, parse_address
from mtlsform.stack.model import Moved, Stack
from mtlsform.state.model import State


@dataclass(frozen=True)
class Move:
    """One rename: the address a resource had and the one it has now."""

    source: Address
    destination: Address


def parts(address: Address) -> tuple[str, ...]:
    """The name, key and sub-name an address has, in order."""
    found = [address.name]
    if address.key is not None:
        found.append(address.key)
    if address.sub is not None:
        found.append(address.sub)
    return tuple(found)


def _below(type_name: str, ancestor: str) -> bool:
    """Whether `type_name` is under `ancestor` in the cascade chain (a rule under a listener)."""
    seen: set[str] = set()
    current = RESOURCE_TYPES[type_name].cascade_parent if type_name in RESOURCE_TYPES else None
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        current = RESOURCE_TYPES[current].cascade_parent if current in RESOURCE_TYPES else None
    return False


def nested_under(address: Address, parent: Address) -> bool:
    """Whether `address` is nested under `parent` in the address scheme (a rule of a
    listener: `rule.https["www.example.com/"]` under `listener.https`)."""
    mine, theirs = parts(address), parts(parent)
    return (len(mine) > len(theirs) and mine[:len(theirs)] == theirs
            and _below(address.type, parent.type))


def same_kind(a: Address, b: Address) -> bool:
    """Whether one address can be renamed to the other: the same type and the same shape."""
    return a.type == b.type and len(parts(a)) == len(parts(b))


def moved_address(address: Address, move: Move) -> Address | None:
    """Where `address` goes under `move`: the destination, an address nested under it, or
    None when the move does not touch it."""
    if address == move.source:
        return move.destination
    if not nested_under(address, move.source):
        return None
    rest = parts(address)[len(parts(move.source)):]
    new = (*parts(move.destination), *rest)
    return Address(address.type, new[0], new[1] if len(new) > 1 else None,
                   new[2] if len(new) > 2 else None)


def renames(state: State, move: Move) -> dict[Address, Address]:
    """The recorded addresses `move` renames (old -> new), the source first."""
    found: dict[Address, Address] = {}
    for record in state.resources:
        new = moved_address(record.address, move)
        if new is not None:
            found[record.address] = new
    return found


def renamed(state: State, mapping: Mapping[Address, Address]) -> State:
    """The state with each address in `mapping` (old -> new) renamed: its records (current and
    deposed), the dependencies that name it, and its pending operations."""
    def rename(address: Address) -> Address:
        return mapping.get(address, address)

    resources = [replace(r, address=rename(r.address),
                         dependencies=tuple(rename(d) for d in r.dependencies))
                 for r in state.resources]
    pending = tuple(replace(p, address=rename(p.address)) for p in state.pending_operations)
    return replace(state.with_resources(resources), pending_operations=pending)


def move_problem(state: State, move: Move) -> str | None:
    """Why `state mv` cannot make this move (None: it can)."""
    if not same_kind(move.source, move.destination):
        return (f"{move.source} and {move.destination} are not of the same kind: a move keeps "
                "the type and the shape of the address")
    if move.source == move.destination:
        return f"{move.source} is moved to itself"
    if state.get(move.source) is None:
        return f"{move.source} is not in the state"
    mapping = renames(state, move)
    moving = set(mapping)
    occupied = sorted(new for new in mapping.values()
                      if new not in moving and any(r.address == new for r in state.resources))
    if occupied:
        return (f"{occupied[0]} is already in the state: a move cannot replace what is "
                "there (`mtlsform state rm` it first if it is wrong)")
    busy = sorted({p.address for p in state.pending_operations if p.address in moving})
    if busy:
        return (f"an interrupted run left an operation on {busy[0]} in flight: run `mtlsform "
                "apply` to recover it first")
    return None


@dataclass(frozen=True)
class PriorMoves:
    """The prior state with the stack's moves made, where each moved address came from
    (new -> old), and the moves that could not be made, as warnings."""

    state: State
    moved_from: Mapping[Address, Address]
    warnings: tuple[Diagnostic, ...] = ()


def apply_moves(state: State, moves: Iterable[Move]) -> PriorMoves:
    """The stack's moves made on the prior state (a move whose source the state does not
    record was made already, and is skipped; one whose destination is recorded too is
    skipped with a warning, as Terraform does)."""
    moved_from: dict[Address, Address] = {}
    notes: list[Diagnostic] = []
    for move in moves:
        mapping = renames(state, move)
        if move.source not in mapping:
            continue
        if state.get(move.destination) is not None:
            notes.append(warning(
                f"moved: {move.source} was not moved to {move.destination}: the state records "
                "both", path=str(move.destination),
                hint="`mtlsform state rm` the one that is wrong, or `mtlsform state mv` it"))
            continue
        state = renamed(state, mapping)
        for old, new in mapping.items():
            moved_from[new] = moved_from.pop(old, old)
    return PriorMoves(state, moved_from, tuple(notes))


def _parsed(entry: Moved, side: str, index: int, found: list[Diagnostic]) -> Address | None:
    text = entry.source if side == "from" else entry.destination
    try:
        return parse_address(text)
    except AddressError as exc:
        found.append(error(str(exc), path=f"moved[{index}].{side}",
                           position=entry.positions.at(side),
                           hint='e.g. from: listener.https, to: listener.web'))
        return None


def check_moves(stack: Stack, declared: Iterable[Address]) -> list[Diagnostic]:
    """The problems of the stack's `moved:` entries, positioned: an address that does not
    parse, a `from` and `to` of different kinds, a `to` the stack does not declare, a `from`
    it still declares, an address moved twice, and chains or cycles of moves."""
    declared_set = set(declared)
    found: list[Diagnostic] = []
    sources: dict[Address, int] = {}
    destinations: dict[Address, int] = {}
    parsed: list[tuple[int, Moved, Address, Address]] = []
    for i, entry in enumerate(stack.moved):
        source = _parsed(entry, "from", i, found)
        destination = _parsed(entry, "to", i, found)
        if source is None or destination is None:
            continue
        where_from, where_to = entry.positions.at("from"), entry.positions.at("to")
        if not same_kind(source, destination):
            found.append(error(f"{source} cannot move to {destination}: a move keeps the type "
                               "and the shape of the address", path=f"moved[{i}].to",
                               position=where_to))
            continue
        if source == destination:
            found.append(error(f"{source} is moved to itself", path=f"moved[{i}]",
                               position=where_from))
            continue
        if destination not in declared_set:
            found.append(error(f"{destination} is not declared in the stack",
                               path=f"moved[{i}].to", position=where_to,
                               hint="`to` names the address the resource has now"))
        if source in declared_set:
            found.append(error(f"{source} is still declared in the stack",
                               path=f"moved[{i}].from", position=where_from,
                               hint="`from` names the address the resource had before"))
        for seen, side, where, address in ((sources, "from", where_from, source),
                                           (destinations, "to", where_to, destination)):
            if address in seen:
                found.append(error(f"{address} is the `{side}` of moved[{seen[address]}] "
                                   "already", path=f"moved[{i}].{side}", position=where))
            seen.setdefault(address, i)
        parsed.append((i, entry, source, destination))
    for i, entry, source, destination in parsed:
        later = sources.get(destination)
        if later is not None:
            kind = "a cycle" if stack.moved[later].destination == entry.source else "a chain"
            found.append(error(
                f"moved[{i}] and moved[{later}] make {kind}: {source} -> {destination} -> "
                f"{stack.moved[later].destination}", path=f"moved[{i}].to",
                position=entry.positions.at("to"),
                hint=f"write one entry from {source} to where it is now"
                if kind == "a chain" else "a resource cannot move back where it was"))
    return found


def stack_moves(stack: Stack) -> tuple[Move, ...]:
    """The stack's `moved:` entries as moves (once `check_moves` found nothing wrong)."""
    return tuple(Move(parse_address(m.source), parse_address(m.destination))
                 for m in stack.moved)
