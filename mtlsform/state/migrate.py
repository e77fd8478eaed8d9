"""`state migrate --to BACKEND`: the state copied from one store to another, as
`terraform init -migrate-state` does.

Both stores are locked for the whole move. The destination must hold no state (unless
forced: its own history keeps what it held, where it keeps one); the document is pushed byte
for byte, then read back and compared, and only a destination that gives back the very same
bytes counts as migrated. The source is left as it was: removing it is the user's decision,
once the stack's `backend:` block names the destination.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlsform.errors import StateError
from mtlsform.state.statefile import decode_state
from mtlsform.state.store import StateStore


@dataclass(frozen=True)
class Migrated:
    serial: int
    lineage: str
    size: int  # bytes copied
    replaced: int | None  # the serial the destination held (forced), or None


def migrate(source: StateStore, destination: StateStore, *, force: bool = False) -> Migrated:
    """Copies the state of `source` into `destination`; both must be entered (locked)."""
    if source.location == destination.location:
        raise StateError(f"the state is already in {source.location}",
                         hint="name another backend with --to")
    data = source.pull()
    if data is None:
        raise StateError(f"{source.location} holds no state to migrate",
                         hint="apply the stack first, or point --state at its state file")
    state = decode_state(data, source=source.location).state
    there = destination.read()
    if there is not None and not force:
        raise StateError(
            f"{destination.location} already holds a state of stack {there.stack!r} (serial "
            f"{there.serial}, lineage {there.lineage})",
            hint="nothing was copied; migrate to an empty place, or pass --force to replace "
                 "it (its history keeps it where the backend keeps one)")
    destination.push(data, force=True)
    back = destination.pull()
    if back != data:
        raise StateError(
            f"the state read back from {destination.location} differs from the one written "
            f"({0 if back is None else len(back)} bytes read, {len(data)} written)",
            hint=f"the source {source.location} is unchanged; do not point the stack at "
                 f"{destination.location} until a migration reads back whole")
    return Migrated(state.serial, state.lineage, len(data),
                    None if there is None else there.serial)
