"""The state store interface every backend implements, and the logic they share.

A store holds the state of one stack (and workspace). The engine only ever sees a
`StateStore`: entered, it holds the state's lock (whose holder record says who, from which host
and pid, for which operation, since when, and the CI job); `read()` gives the state, `write()`
saves a new one conditional on the serial this run last read or wrote, so an update made by a
writer that bypassed the lock is refused rather than lost; `history()` lists the serials the
backend keeps. Which backend is in use is decided once, in `state/backends.py`.

`DocumentStore` is the shared part: the document is the state file's deterministic JSON bytes
(secrets sealed with the passphrase exactly as in a local file), so every backend holds the
same bytes and `state pull`/`state push` move them unchanged. A backend provides how to lock,
fetch and conditionally save one document, and its history.

A journal (append-only record of operations) may be added to the interface later; nothing here
assumes there is none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Protocol

from mtlsform import __version__
from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state.encryption import Cipher
from mtlsform.state.journal import (
    Change,
    Journal,
    encode_entry,
    replay_entries,
    replay_hook,
    whole_document,
)
from mtlsform.state.lock import LockInfo
from mtlsform.state.model import State
from mtlsform.state.statefile import Decoded, StateEncoder, decode_state


@dataclass(frozen=True)
class HistoryEntry:
    """One version of the state a backend keeps."""

    serial: int
    lineage: str
    written_at: str  # ISO 8601, UTC ("" when the backend does not know)
    written_by: str  # the holder that wrote it ("" when unknown)
    current: bool = False
    version: str = ""  # the backend's own name for the version (object version ID, file)


@dataclass(frozen=True)
class Pushed:
    """What `push` replaced: the serial before and after."""

    before: int | None
    after: int


class StateStore(Protocol):
    """The state of one stack in one backend; see the module's docstring."""

    location: str  # where the state is, for messages (a path, pg://..., cos://...)
    lock_timeout: float

    def __enter__(self) -> StateStore: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    @property
    def lock_info(self) -> LockInfo | None: ...

    @property
    def encrypted(self) -> bool: ...

    @property
    def can_store_secrets(self) -> bool: ...

    @property
    def clear_with_passphrase(self) -> bool: ...

    def read(self) -> State | None: ...

    def read_unlocked(self) -> State | None: ...

    def write(self, state: State) -> State: ...

    def history(self) -> list[HistoryEntry]: ...

    def history_document(self, serial: int) -> bytes: ...

    def pull(self) -> bytes | None: ...

    def push(self, data: bytes, *, force: bool = False) -> Pushed: ...

    def holder(self) -> LockInfo | None: ...

    def force_unlock(self, lock_id: str) -> LockInfo: ...

    @property
    def kept_before(self) -> str: ...


def as_passphrase(value: Sensitive[str] | str | None) -> Sensitive[str] | None:
    return Sensitive(value) if isinstance(value, str) else value


def lost_update(location: str, expected: int | None, found: int | None) -> StateError:
    """The refusal of a write whose base serial is no longer the stored one."""
    now = "no state" if found is None else f"serial {found}"
    base = "no state" if expected is None else f"serial {expected}"
    return StateError(
        f"refusing to write the state at {location}: it changed since this run read it "
        f"(this run read {base}, it now holds {now}); another writer bypassed the lock",
        hint="nothing of this write was saved; run plan again to see the state as it is now")


def check_push(location: str, current: State | None, pushed: State, *, force: bool) -> None:
    """Refuses a push of another lineage, or of a serial not above the current one (unless
    forced: the pushed document then replaces whatever is there)."""
    if current is None or force:
        return
    if pushed.lineage != current.lineage:
        raise StateError(
            f"refusing to push a state of lineage {pushed.lineage} over {location}, which has "
            f"lineage {current.lineage}",
            hint="it is the state of another stack or environment; --force replaces it anyway "
                 "(the state it replaces stays in the history where the backend keeps one)")
    if pushed.serial <= current.serial:
        raise StateError(
            f"refusing to push serial {pushed.serial} over {location}, which holds serial "
            f"{current.serial}: the pushed state is not newer",
            hint="pull the state, or pass --force to replace it with an older one on purpose "
                 "(`state rollback SERIAL` keeps the history straight instead)")


class DocumentStore:
    """What every backend shares: decoding, encryption and serial-checked writes of one
    document. Subclasses implement `_acquire`, `_release`, `_fetch`, `_save` (conditional on
    the serial given), and the history and unlock methods."""

    location: str = ""

    def __init__(self, *, lock_timeout: float = 0.0, operation: str = "",
                 passphrase: Sensitive[str] | str | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.lock_timeout = lock_timeout
        self.operation = operation
        self.passphrase = as_passphrase(passphrase)
        self._on_wait = on_wait
        self.snapshot_bytes = 0  # whole-document saves by this store (tests count them)
        self.snapshots = 0
        self._mutex = threading.Lock()
        self._entered = False
        self._forget()

    # ---- what a backend provides ----

    def _journal(self) -> Journal | None:
        """The backend's journal (None: every save writes the whole document)."""
        return None

    def _acquire(self) -> LockInfo:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _fetch(self) -> bytes | None:
        """The stored document (None: no state yet)."""
        raise NotImplementedError

    def _fetch_for_run(self) -> bytes | None:
        """The document as a run first reads it (a backend may note its version here)."""
        return self._fetch()

    def _save(self, data: bytes, *, serial: int, lineage: str, expected: int | None,
              original: bytes | None, encoder: StateEncoder) -> None:
        """Stores `data` (serial `serial`) if the stored serial is still `expected` (None: no
        state stored yet); else raises `lost_update`."""
        raise NotImplementedError

    @property
    def lock_info(self) -> LockInfo | None:
        raise NotImplementedError

    # ---- context manager ----

    def _forget(self) -> None:
        """Each `with` is a run of its own: nothing read before it is trusted."""
        self._loaded = False
        self._original: bytes | None = None  # the document as this run first read it
        self._last: State | None = None  # the state last read or written
        self._decoded: Decoded | None = None
        self._encoder: StateEncoder | None = None
        self._rewrite = False  # must be rewritten even without a content change
        self._journal_open = False  # a snapshot of this run was saved: appends may follow
        self._appended = 0  # journal entries after the stored snapshot (replayed or appended)
        self._replayed: bytes | None = None  # the snapshot with its journal, when it had one

    def __enter__(self) -> DocumentStore:
        self._acquire()
        self._forget()
        self._entered = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._entered = False
        self._release()

    def _require_entered(self) -> None:
        if not self._entered:
            raise RuntimeError(f"use {type(self).__name__} as a context manager (with ...:)")

    # ---- reading and writing ----

    def _decode(self, data: bytes) -> Decoded:
        return decode_state(data, source=self.location, passphrase=self.passphrase,
                            replay=self._replay_hook())

    def _replay_hook(self) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        """What decoding applies to the stored document: the journal's entries after it."""
        journal = self._journal()
        if journal is None:
            return None

        def replay(document: dict[str, Any]) -> dict[str, Any]:
            lineage, serial = document.get("lineage"), document.get("serial")
            if not isinstance(lineage, str) or not isinstance(serial, int) \
                    or isinstance(serial, bool) or serial < 0:
                return document  # the document itself is damaged: its checks say how
            entries = journal.replay(lineage, serial)
            self._appended = len(entries)
            self._replayed = None
            document = replay_entries(document, entries, journal.damaged)
            if entries:  # now: decoding goes on to unwrap the document's secrets in place
                self._replayed = whole_document(document)
            return document

        return replay

    def _load(self) -> None:
        if self._loaded:
            return
        self._original = self._fetch_for_run()
        if self._original is not None:
            self._decoded = self._decode(self._original)
            # what the run started from is the document and its journal
            self._original = self._replayed or self._original
            self._last = self._decoded.state
            self._rewrite = self.passphrase is not None and self._decoded.header is None
        self._loaded = True

    @property
    def encrypted(self) -> bool:
        """Whether secrets are (or will be) encrypted in this state."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self.passphrase is not None or (
                self._decoded is not None and self._decoded.header is not None)

    @property
    def can_store_secrets(self) -> bool:
        """False when the state is encrypted and no passphrase was given."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self.passphrase is not None or self._decoded is None \
                or self._decoded.header is None

    @property
    def clear_with_passphrase(self) -> bool:
        """True when the passphrase is set but the secrets are stored in clear text."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self._rewrite

    def read_unlocked(self) -> State | None:
        """The stored state, read without the lock (for commands that only look); every
        backend replaces a document whole, so this never sees half a write (nor a journal
        entry half written: a torn last entry is ignored)."""
        data = self._fetch()
        if data is None:
            return None
        journal = self._journal()
        hook = None if journal is None else replay_hook(journal)
        return decode_state(data, source=self.location, passphrase=self.passphrase,
                            replay=hook).state

    def read(self) -> State | None:
        with self._mutex:
            self._require_entered()
            self._load()
            return self._last

    def _get_encoder(self) -> StateEncoder:
        if self._encoder is None:
            decoded = self._decoded
            header = decoded.header if decoded is not None else None
            cipher = decoded.cipher if decoded is not None else None
            if cipher is None and self.passphrase is not None:
                cipher = Cipher.create(self.passphrase)
            self._encoder = StateEncoder(cipher=cipher, header=header, source=self.location)
        return self._encoder

    def write(self, state: State) -> State:
        """Saves `state` as the whole document (a snapshot: a journal starts over) and returns
        it with the serial it got (unchanged for a no-op)."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self._write_locked(state)

    def _write_locked(self, state: State) -> State:
        base = self._last
        if base is not None:
            if state.lineage != base.lineage:
                raise StateError(
                    f"refusing to write a state of lineage {state.lineage} over "
                    f"{self.location}, which has lineage {base.lineage}",
                    hint="the state in memory does not come from this store")
            same = state.same_content(base)
            if same and not self._rewrite and not self._appended:
                return state if state.serial == base.serial else replace(
                    state, serial=base.serial, tool_version=base.tool_version)
            serial = base.serial if same else base.serial + 1
        else:
            serial = state.serial + 1
        encoder = self._get_encoder()
        data = encoder.encode(state, serial=serial)
        self._save(data, serial=serial, lineage=state.lineage,
                   expected=None if base is None else self._stored_serial(base),
                   original=self._original, encoder=encoder)
        self.snapshot_bytes += len(data)
        self.snapshots += 1
        self._original_written()
        self._compacted(state.lineage, serial)
        self._rewrite = False
        self._last = replace(state, serial=serial, tool_version=__version__)
        return self._last

    def _stored_serial(self, base: State) -> int:
        """The serial of the stored document (older than `base` by the journal's entries)."""
        return base.serial - self._appended

    def _compacted(self, lineage: str, serial: int) -> None:
        journal = self._journal()
        if journal is not None:
            journal.compact(lineage, serial)
            self._journal_open = True
        self._appended = 0

    def append(self, state: State, changes: Sequence[Change]) -> State:
        """Saves `state`, which is the last state saved with `changes` made, as one journal
        entry (the backend's journal; without one, or at the first save of a run, the whole
        document is written instead). Returns it with the serial it got."""
        with self._mutex:
            self._require_entered()
            self._load()
            base = self._last
            journal = self._journal()
            if journal is None or base is None or not self._journal_open or self._rewrite \
                    or not changes or state.lineage != base.lineage:
                return self._write_locked(state)
            serial = base.serial + 1
            journal.append(encode_entry(serial, changes, self._get_encoder()))
            self._appended += 1
            self._last = replace(state, serial=serial, tool_version=__version__)
            return self._last

    def _original_written(self) -> None:
        """Called after each successful save (the local store stops backing up)."""

    # ---- outside a run: pull and push ----

    def pull(self) -> bytes | None:
        """The stored document, byte for byte (None: no state yet), with its journal's
        entries applied when it has any."""
        data = self._fetch()
        journal = self._journal()
        if data is None or journal is None:
            return data
        collected: list[bytes] = []
        hook = replay_hook(journal, collected)
        decode_state(data, source=self.location, replay=hook)
        return collected[0] if collected else data

    def push(self, data: bytes, *, force: bool = False) -> Pushed:
        """Stores `data` as it is, once it decodes as a state, and (unless `force`) is of the
        same lineage and a higher serial than the stored one."""
        with self._mutex:
            self._require_entered()
            self._load()
            pushed = decode_state(data, source="the pushed state").state
            current = self._last
            check_push(self.location, current, pushed, force=force)
            if current is not None and current.stack != pushed.stack:
                raise StateError(f"refusing to push a state of stack {pushed.stack!r} over "
                                 f"{self.location}, the state of stack {current.stack!r}")
            self._save(data, serial=pushed.serial, lineage=pushed.lineage,
                       expected=None if current is None else self._stored_serial(current),
                       original=self._original, encoder=self._get_encoder())
            self._original_written()
            self._compacted(pushed.lineage, pushed.serial)
            self._loaded = False
            return Pushed(None if current is None else current.serial, pushed.serial)

    @property
    def kept_before(self) -> str:
        """Where the state as it was before this run's writes is kept, for messages."""
        return f"the history of {self.location} (`mtlsform state history`)"

    def describe_holder(self) -> str:
        holder = self.holder()
        return holder.describe() if holder else "nobody"

    def holder(self) -> LockInfo | None:
        raise NotImplementedError

    def force_unlock(self, lock_id: str) -> LockInfo:
        raise NotImplementedError

    def history(self) -> list[HistoryEntry]:
        raise NotImplementedError

    def history_document(self, serial: int) -> bytes:
        raise NotImplementedError
