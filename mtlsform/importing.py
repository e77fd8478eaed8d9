"""`mtlsform import`: adopt one existing cloud object into a stack's state.

The object's type checks it (`ResourceType.import_`: it exists, it is of the address's kind,
it matches what the stack declares there) and gives the record; this module checks what
holds for every type (the address is declared, not yet recorded, the object not recorded at
another address), records it under the state's lock (the state before is kept as the
backup) and says who owned it before (`ResourceType.claimants`): importing is how an object
is handed over from another stack explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mtlsform.addresses import Address
from mtlsform.references import references
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.base import ImportRefused
from mtlsform.state.model import ResourceState

if TYPE_CHECKING:
    from mtlsform.session import Session


@dataclass(frozen=True)
class Imported:
    """What an import recorded: the address, the object's ID, the serial of the state written
    and the stacks the cloud said owned it before (handed over)."""

    address: Address
    ident: str
    serial: int
    handed_over_from: tuple[str, ...] = ()


def import_object(session: Session, address: Address, ident: str) -> Imported:
    """Records the existing object `ident` at `address` in the session's state."""
    stack, state = session.stack, session.state
    rtype = RESOURCE_TYPES[address.type]
    declared = list(rtype.instances(stack))
    if address not in declared:
        shown = ", ".join(str(a) for a in declared[:6]) or "none"
        raise ImportRefused(
            f"{address} is not declared by {stack.path}",
            hint=f"declare it in the stack first, then import it; the stack declares these "
                 f"addresses of that type: {shown}")
    recorded = state.get(address)
    if recorded is not None:
        raise ImportRefused(
            f"{address} is already in the state {session.state_path} (as "
            f"{rtype.import_id(recorded.attributes)})",
            hint="`mtlsform plan` shows how it compares with the cloud; to record another "
                 "object there, forget this one first (`mtlsform state rm`)")

    def lookup(wanted: Address) -> Mapping[str, Any] | None:
        record = state.get(wanted)
        return record.attributes if record is not None else None

    attrs = rtype.import_(session.provider, stack, address, ident, lookup)
    same = rtype.import_id(attrs)
    for other in state.resources_of_type(address.type):
        if other.deposed is None and rtype.import_id(other.attributes) == same:
            raise ImportRefused(
                f"{address}: {same} is already in the state as {other.address}",
                hint="one object is managed at one address; rename it with `mtlsform state "
                     "mv` if the stack moved it")
    owners = tuple(rtype.claimants(session.provider, stack, attrs))
    dependencies = tuple(sorted({ref.address for ref in references(rtype.config(stack,
                                                                                address))}))
    session.check_committable(adds_keys=False)
    written = session.store.write(state.with_resource(
        ResourceState(address, attrs, dependencies)))
    session.state = written
    return Imported(address, same, written.serial, owners)
