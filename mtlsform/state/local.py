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

`read_state` reads without the lock, for commands that only look (show, output, state list);
atomic replacement means it always sees a whole file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from mtlsform import __version__
from mtlsform.errors import StateError
from mtlsform.files import write_atomic
from mtlsform.sensitive import Sensitive
from mtlsform.state.encryption import Cipher
from mtlsform.state.lock import LockInfo, StateLock
from mtlsform.state.model import State
from mtlsform.state.statefile import Decoded, StateEncoder, decode_state

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


def _decode(data: bytes, path: Path, passphrase: Sensitive[str] | None) -> Decoded:
    try:
        return decode_state(data, source=str(path), passphrase=passphrase)
    except StateError as exc:
        raise _with_backup_hint(exc, path) from None


def read_state(path: Path, passphrase: Sensitive[str] | None = None) -> State | None:
    """The state in `path` (None if there is no file), read without taking the lock."""
    path = Path(path)
    data = _read_bytes(path)
    return None if data is None else _decode(data, path, _passphrase(passphrase)).state


def atomic_write(path: Path, data: bytes) -> None:
    """Replaces `path` with `data` (mode 0600) so that a crash leaves the old or new file."""
    try:
        write_atomic(path, data, 0o600)
    except OSError as exc:
        raise StateError(f"cannot write state file {path}: {exc.strerror or exc}",
                         hint="the previous state file is unchanged") from None


class LocalStateStore:
    """The state of one stack in a local file, locked while the store is entered.

        with LocalStateStore(path, operation="apply", lock_timeout=30) as store:
            state = store.read() or State.empty("example")
            state = store.write(state.with_resource(...))
    """

    def __init__(self, path: Path, *, lock_timeout: float = 0.0, operation: str = "",
                 passphrase: Sensitive[str] | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.backup_path = backup_path(self.path)
        self.lock_timeout = lock_timeout
        self.passphrase = _passphrase(passphrase)
        self._on_wait = on_wait
        self._lock = StateLock(self.path, operation)
        self._mutex = threading.Lock()
        self._entered = False
        self._forget()

    def _forget(self) -> None:
        """Each `with` is a run of its own: nothing read before it is trusted."""
        self._loaded = False
        self._original: bytes | None = None  # the file as it was when this run first read it
        self._last: State | None = None  # the state last read or written
        self._decoded: Decoded | None = None
        self._encoder: StateEncoder | None = None
        self._backed_up = False
        self._rewrite = False  # the file must be rewritten even without a content change

    # ---- context manager ----

    def __enter__(self) -> LocalStateStore:
        directory = self.path.parent
        if not directory.exists():
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            except OSError as exc:
                raise StateError(f"cannot create the state directory {directory}: "
                                 f"{exc.strerror}") from None
        self._lock.acquire(self.lock_timeout, self._on_wait)
        self._forget()
        try:
            # Leftover temporary files of a run that crashed mid-write: nobody else writes
            # while we hold the lock, so they are garbage.
            for leftover in directory.glob(f".{self.path.name}.*.tmp"):
                leftover.unlink(missing_ok=True)
        except OSError:
            pass  # harmless: they are cleaned up by a later run
        self._entered = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._entered = False
        self._lock.release()

    @property
    def lock_info(self) -> LockInfo | None:
        """Our own lock details while entered."""
        return self._lock.info

    # ---- reading and writing ----

    def _require_entered(self) -> None:
        if not self._entered:
            raise RuntimeError("use LocalStateStore as a context manager (with ...:)")

    def _load(self) -> None:
        if self._loaded:
            return
        self._original = _read_bytes(self.path)
        if self._original is not None:
            self._decoded = _decode(self._original, self.path, self.passphrase)
            self._last = self._decoded.state
            self._rewrite = self.passphrase is not None and self._decoded.header is None
        self._loaded = True

    @property
    def encrypted(self) -> bool:
        """Whether secrets are (or will be) encrypted in this file."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self.passphrase is not None or (
                self._decoded is not None and self._decoded.header is not None)

    @property
    def can_store_secrets(self) -> bool:
        """False when the file is encrypted and no passphrase was given: new private keys
        could not be written (check before creating any)."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self.passphrase is not None or self._decoded is None \
                or self._decoded.header is None

    @property
    def clear_with_passphrase(self) -> bool:
        """True when the passphrase is set but the file holds its secrets in clear text: the
        next write encrypts it (a write with no change in content included)."""
        with self._mutex:
            self._require_entered()
            self._load()
            return self._rewrite

    def read(self) -> State | None:
        """The state (None if the file does not exist yet)."""
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
            self._encoder = StateEncoder(cipher=cipher, header=header, source=str(self.path))
        return self._encoder

    def write(self, state: State) -> State:
        """Saves `state` and returns it with the serial it got (unchanged for a no-op)."""
        with self._mutex:
            self._require_entered()
            self._load()
            base = self._last
            if base is not None:
                if state.lineage != base.lineage:
                    raise StateError(
                        f"refusing to write a state of lineage {state.lineage} over state file "
                        f"{self.path}, which has lineage {base.lineage}",
                        hint="the state in memory does not come from this file")
                same = state.same_content(base)
                if same and not self._rewrite:
                    return state if state.serial == base.serial else replace(
                        state, serial=base.serial, tool_version=base.tool_version)
                serial = base.serial if same else base.serial + 1
            else:
                serial = state.serial + 1
            encoder = self._get_encoder()
            data = encoder.encode(state, serial=serial)
            if self._original is not None and not self._backed_up:
                original = self._original
                if self._rewrite and self._decoded is not None:
                    # Encrypting a clear state: the backup must not keep its keys in clear.
                    original = encoder.encode(self._decoded.state)
                atomic_write(self.backup_path, original)
                self._backed_up = True
            atomic_write(self.path, data)
            self._rewrite = False
            self._last = replace(state, serial=serial, tool_version=__version__)
            return self._last
