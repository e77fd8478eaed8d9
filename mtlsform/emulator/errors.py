"""The emulator's exceptions: one type per failure a caller may want to tell apart.

Callers catch these by type, never by matching message text. All derive from EmulatorError;
messages are written for people.

  EmulatorConfigError   a flag, environment variable or instances file the emulator cannot use
  DataDirectoryBusy     another process holds the world (its holder record, if readable)
  HolderRecordError     a holder record (the lock file's description) that cannot be read
  ApiBindError          the API server cannot listen on its host and port
  DataPlaneBindError    the data plane cannot bind a listener or demo instance it needs
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtlsform.emulator.holder import HolderRecord


class EmulatorError(Exception):
    """A failure of the emulator that is not a bug."""


class EmulatorConfigError(EmulatorError, ValueError):
    """A flag, environment variable or instances file the emulator cannot use."""


class HolderRecordError(EmulatorError):
    """The holder record in `path` (a data directory's lock file) is damaged: `reason` says how."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"the holder record in {path} is damaged: {reason}")
        self.path = Path(path)
        self.reason = reason


class DataDirectoryBusy(EmulatorConfigError):
    """Another emulator holds the world in `data_dir`.

    `holder` is what it wrote about itself (None while it has not written yet, or when the
    record is damaged: `damage` then says how, naming the file)."""

    def __init__(self, data_dir: Path, holder: HolderRecord | None,
                 damage: HolderRecordError | None = None) -> None:
        who = f" (pid {holder.pid}, {holder.url})" if holder is not None else ""
        why = f"; {damage}" if damage is not None else ""
        super().__init__(f"another emulator is using the data directory {data_dir}{who}{why}")
        self.data_dir = data_dir
        self.holder = holder
        self.damage = damage


class ApiBindError(EmulatorError):
    """The API server cannot listen on host:port (taken, not local, or privileged)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {cause.strerror or cause}")
        self.host = host
        self.port = port
        self.errno = cause.errno


class DataPlaneBindError(EmulatorError):
    """The data plane cannot bind what it was asked to serve; `problems` says why for each
    ("cannot listen on 127.64.0.1:443: ...", "demo instance ins-rs1 cannot listen on ...")."""

    def __init__(self, problems: tuple[str, ...], message: str | None = None) -> None:
        super().__init__(message or f"the data plane cannot bind: {'; '.join(problems)}")
        self.problems = problems
