"""The state lock: an exclusive `flock` on `<state>.lock`, with who holds it written inside.

`flock` (from the fcntl module) rather than `fcntl(F_SETLK)` record locks on purpose: a record
lock belongs to the process and is dropped when *any* descriptor of the file is closed, so two
stores in one process would not exclude each other, and reading the holder details would
release our own lock. An `flock` belongs to the open file, excludes every other open (same
process included), and the kernel drops it when the holder dies, so a crash never leaves a
stale lock. The lock file is never deleted (deleting it would let two processes lock two
different files); its JSON content is only a description of the current holder.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mtlsform import __version__
from mtlsform.errors import StateError, StateLockedError

_FIRST_POLL, _MAX_POLL = 0.05, 1.0


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock, as written into the lock file."""

    id: str
    who: str
    pid: int
    operation: str
    created: str
    version: str
    path: str
    host: str = ""
    ci_job: str = ""  # e.g. "GITHUB_RUN_ID=123" when the CI's environment tells it

    def describe(self) -> str:
        operation = f" for {self.operation!r}" if self.operation else ""
        host = f" on {self.host}" if self.host and not self.who.endswith("@" + self.host) else ""
        job = f", CI job {self.ci_job}" if self.ci_job else ""
        return (f"{self.who}{host} (pid {self.pid}){operation} since {self.created}{job} "
                f"(lock ID {self.id})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LockInfo | None:
        """The holder in `text`, or None when it does not describe one."""
        try:
            data = json.loads(text)
            known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            info = cls(**known)
        except (ValueError, TypeError):
            return None
        return info if isinstance(info.id, str) and isinstance(info.pid, int) else None


# The CI systems whose environment names the job a run belongs to, first found wins.
CI_JOB_VARIABLES = ("GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_JOB_ID", "BUILD_TAG")


def ci_job(environ: Mapping[str, str] | None = None) -> str:
    """`NAME=value` of the first CI job variable set in the environment ("" outside CI)."""
    environ = os.environ if environ is None else environ
    for name in CI_JOB_VARIABLES:
        if environ.get(name):
            return f"{name}={environ[name]}"
    return ""


def new_holder(operation: str, location: str) -> LockInfo:
    """The holder record of a lock this process takes now."""
    return LockInfo(
        id=str(uuid.uuid4()), who=_who(), pid=os.getpid(), operation=operation,
        created=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        version=__version__, path=location, host=socket.gethostname(), ci_job=ci_job())


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def read_holder(lock_path: Path) -> LockInfo | None:
    """The holder details in a lock file, or None if absent or unreadable (held or not)."""
    try:
        return LockInfo.from_json(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class StateLock:
    """An exclusive lock for one state file, held from `acquire` until `release`."""

    def __init__(self, state_path: Path, operation: str = "") -> None:
        self.state_path = state_path
        self.path = state_path.with_name(state_path.name + ".lock")
        self.operation = operation
        self.info: LockInfo | None = None
        self._fd: int | None = None

    def acquire(self, timeout: float = 0.0,
                on_wait: Callable[[str], None] | None = None) -> LockInfo:
        """Takes the lock, polling up to `timeout` seconds; `on_wait(holder)` is called once
        when the lock is found taken and we wait for it."""
        if self._fd is not None:
            raise RuntimeError("the state lock is already held by this store")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the state lock file {self.path}: "
                             f"{exc.strerror}") from None
        try:
            self._wait_for(fd, timeout, on_wait)
        except BaseException:  # refused, interrupted, or on_wait failed: let go of the file
            os.close(fd)
            raise
        self._fd = fd
        self.info = new_holder(self.operation, str(self.state_path))
        data = self.info.to_json().encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        return self.info

    def _wait_for(self, fd: int, timeout: float,
                  on_wait: Callable[[str], None] | None) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        poll, waited = _FIRST_POLL, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            except OSError as exc:
                raise StateError(f"cannot lock {self.path}: {exc.strerror}") from None
            remaining = deadline - time.monotonic()
            holder = self._holder_text()
            if remaining <= 0:
                raise StateLockedError(
                    f"state file {self.state_path} is locked by {holder}",
                    hint="wait for that run to finish, or pass --lock-timeout to wait for it; "
                         "the lock is released as soon as that process exits")
            if not waited and on_wait is not None:
                on_wait(holder)
            waited = True
            time.sleep(min(poll, remaining))
            poll = min(poll * 2, _MAX_POLL)

    def _holder_text(self) -> str:
        holder = read_holder(self.path)
        return holder.describe() if holder else "another process (no details written yet)"

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd, self.info = self._fd, None, None
        try:
            os.ftruncate(fd, 0)  # the details describe a holder; there is none now
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
