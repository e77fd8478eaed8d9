"""Putting a state's backup back: `mtlsform state restore`.

The backup (`<state>.backup`) is the state as it was before the last run that changed it. It is
restored byte for byte, under the state's lock, once it decodes as a state of the same stack.
A state file that is still there and readable is newer than its backup, so it is replaced only
when forced; it is kept beside the state as `<state>.replaced` (a damaged one as
`<state>.damaged`), never thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mtlsform.errors import StateError
from mtlsform.state.journal import journal_path
from mtlsform.state.local import atomic_write, backup_path, read_state_bytes
from mtlsform.state.lock import StateLock
from mtlsform.state.statefile import decode_state


@dataclass(frozen=True)
class Restored:
    """What `restore_backup` put back, and where the file it replaced went (if any)."""

    state_path: Path
    backup: Path
    serial: int
    lineage: str
    resources: int
    kept: Path | None


def restore_backup(state_path: Path, stack_name: str, *, force: bool = False,
                   lock_timeout: float = 0.0) -> Restored:
    """Restores the backup of `state_path` (see the module's docstring)."""
    state_path = Path(state_path)
    backup = backup_path(state_path)
    lock = StateLock(state_path, operation="state restore")
    lock.acquire(lock_timeout)
    try:
        try:
            data = backup.read_bytes()
        except FileNotFoundError:
            raise StateError(f"there is no backup of {state_path} to restore ({backup} does "
                             "not exist)") from None
        except OSError as exc:
            raise StateError(f"cannot read the backup {backup}: {exc.strerror}") from None
        saved = decode_state(data, source=str(backup)).state  # sealed secrets stay sealed
        if saved.stack != stack_name:
            raise StateError(f"{backup} is a state of stack {saved.stack!r}, not of "
                             f"{stack_name!r}", hint="nothing was restored")
        kept = _set_aside(state_path, saved.serial, force=force)
        atomic_write(state_path, data)
        try:  # the journal followed the file replaced (kept with it, replayed)
            journal_path(state_path).unlink(missing_ok=True)
        except OSError as exc:
            raise StateError(f"cannot remove the state journal {journal_path(state_path)}: "
                             f"{exc.strerror}", hint="remove it by hand") from None
        return Restored(state_path, backup, saved.serial, saved.lineage,
                        len(saved.resources), kept)
    finally:
        lock.release()


def _set_aside(state_path: Path, backup_serial: int, *, force: bool) -> Path | None:
    """Moves an existing state file out of the way (refused for a readable one unless forced)."""
    try:
        data = state_path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = read_state_bytes(state_path) or data  # with its journal applied
        current = decode_state(data, source=str(state_path)).state
    except StateError:
        kept = state_path.with_name(state_path.name + ".damaged")
    else:
        if not force:
            raise StateError(
                f"{state_path} is there and readable (serial {current.serial}; the backup is "
                f"serial {backup_serial}): restoring would roll back the last run",
                hint="pass --force to restore anyway; the state file is then kept as "
                     f"{state_path.name}.replaced")
        kept = state_path.with_name(state_path.name + ".replaced")
    atomic_write(kept, data)  # mode 0600, like the state it was
    return kept
