"""The world writer: keeps the world file up to date from a background thread.

The world hands every committed version to `submit` (cheap: committed versions never change, so
the writer can encode one while the API goes on). The thread always saves the newest version it
has been given; versions that arrive while a save is under way are coalesced into the next one.
So a burst of writes costs a few saves, not one per write, and no API call waits for the disk.

Each save re-encodes only the objects that changed since the one before (worldfile.WorldEncoder;
versions share unchanged objects), then writes the file atomically.

Guarantees: the file is always complete and loadable (temporary file, fsync, rename, mode 0600);
`flush()` returns once the newest submitted version is on disk (the emulator calls it on stop
and before a simulated crash exits); a process killed outright loses at most what was committed
since the save before the one under way, typically a few milliseconds. After a save fails, the
next version is saved synchronously: if that fails too the world refuses it (the API answers
InternalError, as it did when every write saved synchronously), and `flush()` raises
WorldFileError, until the disk takes the file again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from mtlsform.emulator import worldfile
from mtlsform.emulator.world import WorldState
from mtlsform.emulator.worldfile import WorldFileError

Save = Callable[[Path, WorldState], None]


class WorldWriter:
    """Saves the newest submitted world version on its own thread (see the module docstring)."""

    def __init__(self, path: Path, save: Save | None = None) -> None:
        """`save(path, state)` writes one version (default: worldfile's atomic write of the
        text a WorldEncoder makes, which re-encodes only objects that changed)."""
        self.path = path
        self._encoder = worldfile.WorldEncoder()
        self._save = save or self._encode_and_write
        self._cond = threading.Condition()
        self._pending: WorldState | None = None  # newest version not yet being saved
        self._failed: WorldState | None = None  # newest version whose save failed
        self._busy = False
        self._closed = False
        self.saves = 0  # how many times the file was written (benchmarks, tests)
        self._thread = threading.Thread(target=self._run, name="emulator-world-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, state: WorldState) -> None:
        """Queues a version being committed (replacing an older one still waiting) and returns
        at once. After a failed save, and after `close()`, it saves in the caller's thread
        instead, and raises WorldFileError if that fails too: the world then does not commit
        the version, so writes are refused while the disk refuses them."""
        with self._cond:
            if not self._closed and self._failed is None:
                self._pending = state
                self._cond.notify_all()
                return
            self._cond.wait_for(self._idle)
            self._write(state)
            self._failed = None

    def flush(self) -> None:
        """Returns once the newest submitted version is on disk; raises WorldFileError if it
        cannot be saved (after one more attempt in the caller's thread)."""
        with self._cond:
            self._cond.wait_for(self._idle)
            if self._failed is not None:
                self._write(self._failed)
                self._failed = None

    def close(self) -> None:
        """Stops the thread and flushes; later versions are saved in the caller's thread."""
        with self._cond:
            self._cond.wait_for(self._idle)
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=30)
        self.flush()

    def _idle(self) -> bool:
        return self._pending is None and not self._busy

    def _encode_and_write(self, path: Path, state: WorldState) -> None:
        # One save at a time (the thread, or a caller holding the condition while it is idle),
        # so the encoder's cache is never used by two threads at once.
        worldfile.write_text(path, self._encoder.dumps(state))

    def _write(self, state: WorldState) -> None:
        """Saves in the caller's thread (which holds the condition, the thread being idle)."""
        try:
            self._save(self.path, state)
        except Exception as exc:
            raise WorldFileError(f"cannot save the world to {self.path}: {exc}") from exc
        self.saves += 1

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:  # closed, nothing left
                    return
                state, self._pending, self._busy = self._pending, None, True
            try:
                self._save(self.path, state)
                failed = None
            except Exception:  # kept for flush(); the next submit saves synchronously
                failed = state
            with self._cond:
                self._busy = False
                if failed is None:
                    self.saves += 1
                    if self._failed is not None and self._failed.version <= state.version:
                        self._failed = None
                else:
                    self._failed = failed
                self._cond.notify_all()
