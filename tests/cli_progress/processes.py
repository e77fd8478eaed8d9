"""`mtlsform` run as a subprocess, on a pseudo-terminal or on pipes, with its output collected as
it comes (so a test can wait for a line, then send Ctrl-C)."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
P12_PASSWORD = "progress-test-password"
# Seconds every emulated CLB task takes in the slow runs: over 20 s, so a terminal shows two
# "Still ..." lines (at 10 s and 20 s), and 9 s short of the third (and of a log's first, at
# 30 s), which a loaded machine may add to the run but never takes away.
SLOW_TASK = "21"


def environment(task_delay: str | None = None) -> dict[str, str]:
    """This environment without mtlsform's and the cloud's variables, plus what a run needs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MTLSFORM_", "TENCENTCLOUD_"))}
    env.update(MTLSFORM_P12_PASSWORD=P12_PASSWORD, NO_COLOR="1", TERM="xterm")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if task_delay is not None:
        env["MTLSFORM_EMULATOR_TASK_DELAY"] = task_delay
    return env


def copy_stacks(into: Path) -> Path:
    """A scratch copy of the repository's stacks/ (no state, no exports) under `into`."""
    shutil.copytree(REPO / "stacks", into / "stacks",
                    ignore=shutil.ignore_patterns(".mtlsform", "out"))
    return into


class Mtlsform:
    """One `mtlsform ARGS` process started in `cwd`; `terminal`: on a pty of `rows` rows."""

    def __init__(self, *args: str, cwd: Path, env: Mapping[str, str], terminal: bool,
                 rows: int = 24) -> None:
        self._chunks: list[str] = []
        self._changed = threading.Condition()
        self._master: int | None = None
        command = [sys.executable, "-m", "mtlsform", *args]
        if terminal:
            master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 200, 0, 0))
            self.process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdin=slave,
                                            stdout=slave, stderr=slave, close_fds=True)
            os.close(slave)
            self._master = master
            reader = threading.Thread(target=self._read_pty, args=(master,), daemon=True)
        else:
            self.process = subprocess.Popen(command, cwd=cwd, env=dict(env),
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT)
            reader = threading.Thread(target=self._read_pipe, daemon=True)
        self._reader = reader
        reader.start()

    def _add(self, data: bytes) -> None:
        with self._changed:
            self._chunks.append(data.decode(errors="replace"))
            self._changed.notify_all()

    def _read_pty(self, master: int) -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last holder of the terminal's other side closed it
                break
            if not data:
                break
            self._add(data)
        with self._changed:
            self._changed.notify_all()

    def _read_pipe(self) -> None:
        assert self.process.stdout is not None
        for data in iter(lambda: self.process.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self._add(data)
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        """Everything printed so far (a terminal's CR LF as LF)."""
        with self._changed:
            return "".join(self._chunks).replace("\r\n", "\n")

    def wait_for(self, text: str, timeout: float = 90.0) -> None:
        """Returns once `text` was printed; fails if the process ends or time runs out first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in "".join(self._chunks).replace("\r\n", "\n"):
                left = deadline - time.monotonic()
                ended = self.process.poll() is not None and not self._reader.is_alive()
                assert left > 0 and not ended, f"{text!r} never came:\n{self.output}"
                self._changed.wait(min(left, 0.5))

    def interrupt(self) -> None:
        """Ctrl-C, as the terminal sends it: SIGINT to the process."""
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 120.0) -> tuple[int, str]:
        """The exit code and the whole output."""
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        if self._master is not None:
            os.close(self._master)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code, self.output


def run(*args: str, cwd: Path, env: Mapping[str, str], terminal: bool = False,
        rows: int = 24) -> tuple[int, str]:
    """`mtlsform ARGS` to its end: the exit code and the output."""
    return Mtlsform(*args, cwd=cwd, env=env, terminal=terminal, rows=rows).finish()
