"""Atomic file writes: a temporary file in the same directory with its final mode from the
start, fsynced, renamed over the target, and the directory fsynced, so a crash leaves either
the old file or the new one, and a secret is never readable by others, not even for a moment.

Temporary files are named `.NAME.<pid>.<random>.tmp`, so a crash's leftovers can be found.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_temporary(path: Path, data: bytes, mode: int = 0o600) -> Path:
    """Writes `data` to a new temporary file beside `path` with its final mode from the start,
    fsynced, and returns its path (the caller renames it into place); raises OSError."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        if os.fstat(fd).st_mode & 0o777 != mode:
            os.fchmod(fd, mode)  # the umask narrowed it: only ever adds bits, never exposes
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def fsync_directory(directory: Path) -> None:
    """Makes the directory's renames durable."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replaces `path` with `data`; raises OSError (the old file is then unchanged)."""
    path = Path(path)
    tmp = write_temporary(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
