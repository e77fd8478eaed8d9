"""Plans limited to some resources (`--target`) and replacements asked for (`--replace`).

As in Terraform, a target is the resource it names plus everything it depends on, through
the graph's edges (a rule: its listener, load balancer, uploads and certificates); a
resource's children are not included (target them too). A target the stack no longer
declares but the state records plans its removal. A plan made with targets is partial: it
says so in every format, and applying it changes only what it lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from mtlsform.addresses import Address, AddressError
from mtlsform.dag import Dag
from mtlsform.errors import InputError
from mtlsform.plan.model import Plan
from mtlsform.resources import parse_address
from mtlsform.state.model import State


def parse_addresses(texts: Iterable[str], flag: str) -> tuple[Address, ...]:
    """The addresses given with `flag` (sorted, each once); a bad one is one clear message."""
    found: set[Address] = set()
    for text in texts:
        try:
            found.add(parse_address(text))
        except AddressError as exc:
            raise InputError(f"{flag} {text}: {exc}",
                             hint="addresses are written as `mtlsform state list` prints "
                                  'them, e.g. listener.https or rule.https["www.example.com/"]'
                             ) from None
    return tuple(sorted(found))


def _unknown(flag: str, address: Address, where: str, stack_path: str) -> InputError:
    return InputError(f"{flag} {address}: {address} is not {where}",
                      hint=f"`mtlsform graph {stack_path}` lists the stack's addresses and "
                           f"`mtlsform state list {stack_path}` the state's")


def check_targets(targets: Sequence[Address], replacing: Sequence[Address],
                  graph: Dag[Address], state: State, stack_path: str) -> None:
    """Refuses a target neither the stack nor the state has, and a replacement of a resource
    the stack does not declare."""
    recorded = {r.address for r in state.resources}
    for address in targets:
        if address not in graph and address not in recorded:
            raise _unknown("--target", address, "declared in the stack or recorded in the state",
                           stack_path)
    for address in replacing:
        if address not in graph:
            raise _unknown("--replace", address, "declared in the stack", stack_path)


def included(targets: Sequence[Address], graph: Dag[Address]) -> frozenset[Address]:
    """The targets and everything they depend on, transitively."""
    seen: set[Address] = set()
    todo = list(targets)
    while todo:
        address = todo.pop()
        if address in seen:
            continue
        seen.add(address)
        if address in graph:
            todo.extend(graph.dependencies(address))
    return frozenset(seen)


def limited(plan: Plan, targets: Sequence[Address], graph: Dag[Address]) -> Plan:
    """The plan cut down to the targets and their dependencies (a partial plan)."""
    if not targets:
        return plan
    keep = included(targets, graph)
    # an output waiting for a resource outside the targets is left as it is
    outputs = tuple(o for o in plan.outputs if not o.after_unknown)
    return replace(
        plan,
        changes=tuple(c for c in plan.changes if c.address in keep),
        drift=tuple(d for d in plan.drift if d.address in keep),
        warnings=tuple(w for w in plan.warnings if not w.path or _in(w.path, keep)),
        outputs=outputs,
        targets=tuple(targets),
    )


def _in(path: str, keep: frozenset[Address]) -> bool:
    try:
        return Address.parse(path) in keep
    except AddressError:
        return True
