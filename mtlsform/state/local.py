"""Local state storage: one JSON file per stack, locked, backed up and written atomically.

`LocalStateStore` is what plan/apply/destroy use: a context manager holding the state lock,
with `read()` and `write(state)`. A write goes to a temporary file in the same directory, is
fsynced, renamed over the state file with `os.replace` and the directory fsynced, so a crash
leaves either the old or the new file, never a mix. Files are created 0600 from the start and
the `.mtlsform/` directory 0700. The first write of a run that changes the state first copies
the file as it was when the run started to `<state>.backup`.

A write whose content equals the last state read or written (serial aside) does not touch the
file and keeps the serial. With a passphrase, a clear state file is rewritten encrypted at the
next write even if nothing else changed (the serial stays: the content is the same).

During apply most saves are appended to the journal beside the file (`<state>.journal`, see
journal.py) instead (`append`, in store.py): the changes of one save, fsynced, so the bytes
written per save do not grow with the state. The first save of a run, and every compaction
after it (`write`), writes the whole file and starts the journal over. Reading replays the
journal over the file: the state is always the file plus its journal.

`read_state` reads without the lock, for commands that only look (show, output, state list);
atomic replacement means it always sees a whole file (and a journal's torn last line is
ignored).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mtlsform.errors import StateError
from mtlsform.files import write_atomic
from mtlsform.sensitive import Sensitive
from mtlsform.state.journal import LocalJournal, journal_path, replay_hook
from mtlsform.state.lock import LockInfo, StateLock, read_holder
from mtlsform.state.model import State
from mtlsform.state.statefile import Decoded, StateEncoder, decode_state
from mtlsform.state.store import DocumentStore, HistoryEntry

STATE_DIR = ".mtlsform"


def default_state_path(stack_path: Path, stack_name: str) -> Path:
    """`.mtlsform/<stack>.state.json` in the directory of the stack file."""
    if not stack_name or "/" in stack_name or stack_name in (".", ".."):
        raise ValueError(f"{stack_name!r} cannot name a state file")
    return Path(stack_path).parent / STATE_DIR / f"{stack_name}.state.json"


def backup_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".backup")


def _passphrase(value: Sensitive[str] | str | None) -> Sensitive[str] | None:
    return Sensitive(value) if isinstance(value, str) else value


def _with_backup_hint(exc: StateError, state_path: Path) -> StateError:
    backup = backup_path(state_path)
    if exc.hint is None and backup.exists():
        exc.hint = (f"the state as it was before the last run that changed it is in {backup}; "
                    "inspect it and copy it over the state file if it is right")
    return exc


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror}") from None


def local_journal(state_path: Path) -> LocalJournal:
    """The journal beside the state file `state_path`."""
    backup = backup_path(state_path)
    return LocalJournal(
        journal_path(state_path),
        hint=(f"{backup} holds the state as it was before the last run that changed it: "
              "inspect it and restore it with `mtlsform state restore`; nothing was planned "
              "or applied"))


def _decode(data: bytes, path: Path, passphrase: Sensitive[str] | None,
            replay: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Decoded:
    if replay is None and not path.name.endswith(".backup"):
        replay = replay_hook(local_journal(path))
    try:
        return decode_state(data, source=str(path), passphrase=passphrase, replay=replay)
    except StateError as exc:
        raise _with_backup_hint(exc, path) from None


def read_state(path: Path, passphrase: Sensitive[str] | None = None) -> State | None:
    """The state in `path` and its journal (None if there is no file), read without taking
    the lock."""
    path = Path(path)
    data = _read_bytes(path)
    return None if data is None else _decode(data, path, _passphrase(passphrase)).state


def read_state_bytes(path: Path) -> bytes | None:
    """The state in `path` with its journal applied, as the bytes of one whole state file
    (None if there is no file); raises StateError for damage."""
    path = Path(path)
    data = _read_bytes(path)
    if data is None:
        return None
    collected: list[bytes] = []
    _decode(data, path, None, replay_hook(local_journal(path), collected))
    return collected[0] if collected else data


def atomic_write(path: Path, data: bytes) -> None:
    """Replaces `path` with `data` (mode 0600) so that a crash leaves the old or new file."""
    try:
        write_atomic(path, data, 0o600)
    except OSError as exc:
        raise StateError(f"cannot write state file {path}: {exc.strerror or exc}",
                         hint="the previous state file is unchanged") from None


class LocalStateStore(DocumentStore):
    """The state of one stack in a local file, locked while the store is entered.

        with LocalStateStore(path, operation="apply", lock_timeout=30) as store:
            state = store.read() or State.empty("example")
            state = store.write(state.with_resource(...))

    The `flock` lock excludes every other run on this machine, which is what makes the writes
    conditional here: nobody else writes the file while we hold it.
    """

    def __init__(self, path: Path, *, lock_timeout: float = 0.0, operation: str = "",
                 passphrase: Sensitive[str] | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.backup_path = backup_path(self.path)
        self._lock = StateLock(self.path, operation)
        self.journal = local_journal(self.path)
        self._backed_up = False
        super().__init__(lock_timeout=lock_timeout, operation=operation,
                         passphrase=_passphrase(passphrase), on_wait=on_wait)

    def _forget(self) -> None:
        super()._forget()
        self._backed_up = False

    # ---- the lock ----

    def _acquire(self) -> LockInfo:
        directory = self.path.parent
        if not directory.exists():
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            except OSError as exc:
                raise StateError(f"cannot create the state directory {directory}: "
                                 f"{exc.strerror}") from None
        info = self._lock.acquire(self.lock_timeout, self._on_wait)
        try:
            # Leftover temporary files of a run that crashed mid-write: nobody else writes
            # while we hold the lock, so they are garbage.
            for leftover in directory.glob(f".{self.path.name}.*.tmp"):
                leftover.unlink(missing_ok=True)
        except OSError:
            pass  # harmless: they are cleaned up by a later run
        return info

    def _release(self) -> None:
        self.journal.close()
        self._lock.release()

    @property
    def kept_before(self) -> str:
        return str(self.backup_path)

    @property
    def lock_info(self) -> LockInfo | None:
        """Our own lock details while entered."""
        return self._lock.info

    def holder(self) -> LockInfo | None:
        """Who holds the lock now (None: nobody, or no details written yet)."""
        if self._lock.info is not None:
            return self._lock.info
        return read_holder(self._lock.path) if _locked(self._lock.path) else None

    def force_unlock(self, lock_id: str) -> LockInfo:
        """A local lock dies with its holder: a lock still held belongs to a live process,
        which force-unlock does not break."""
        holder = self.holder()
        if holder is None:
            raise StateError(f"the state {self.location} is not locked",
                             hint="a local lock is released by the kernel when its holder "
                                  "exits: there is nothing to unlock")
        raise StateError(
            f"the state {self.location} is locked by {holder.describe()}, a live process",
            hint=f"a local lock is released as soon as its holder exits: stop pid "
                 f"{holder.pid} on {holder.host or 'its host'} instead; force-unlock cannot "
                 "break it")

    # ---- the document ----

    def _journal(self) -> LocalJournal:
        return self.journal

    def _decode(self, data: bytes) -> Decoded:
        return _decode(data, self.path, self.passphrase, self._replay_hook())

    def _fetch(self) -> bytes | None:
        return _read_bytes(self.path)

    def _save(self, data: bytes, *, serial: int, lineage: str, expected: int | None,
              original: bytes | None, encoder: StateEncoder) -> None:
        if original is not None and not self._backed_up:
            if self._rewrite and self._decoded is not None:
                # Encrypting a clear state: the backup must not keep its keys in clear.
                original = encoder.encode(self._decoded.state)
            atomic_write(self.backup_path, original)
            self._backed_up = True
        atomic_write(self.path, data)

    # ---- history: the file and its backup ----

    def _versions(self) -> list[tuple[Path, bytes, bool]]:
        found = []
        for path, current in ((self.path, True), (self.backup_path, False)):
            data = read_state_bytes(path) if current else _read_bytes(path)
            if data is not None:
                found.append((path, data, current))
        return found

    def history(self) -> list[HistoryEntry]:
        """The state file and its backup (a local state keeps no more)."""
        entries = []
        for path, data, current in self._versions():
            state = _decode(data, path, None).state
            entries.append(HistoryEntry(state.serial, state.lineage, "", "", current,
                                        str(path)))
        return sorted(entries, key=lambda e: e.serial, reverse=True)

    def history_document(self, serial: int) -> bytes:
        for path, data, _ in self._versions():
            if _decode(data, path, None).state.serial == serial:
                return data
        raise StateError(f"{self.location} keeps no serial {serial}",
                         hint="a local state keeps only the file and its backup: "
                              "`mtlsform state history` lists them")


def _locked(lock_path: Path) -> bool:
    """Whether another open file holds the flock of `lock_path`."""
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
