"""Live progress of an apply on stderr: a line as each operation starts and finishes, a "Still
creating... [10s elapsed]" line while one runs long, and on a terminal a status line (operations
done of the total) when the apply has more operations than the terminal has rows.

On a terminal an operation still running says so every 10 s; in a log (not a terminal) every
30 s at most, so that CI logs stay short. The lines are printed from the walking thread (start,
finish) and from one ticker thread (still running), under one lock.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import IO

from rich.markup import escape

from mtlsform.apply.operations import Operation
from mtlsform.cli import console
from mtlsform.plan.model import Action, ResourceChange

VERBS = {
    # kind -> (doing, done, still)
    "create": ("Creating...", "Creation complete", "Still creating..."),
    "update": ("Modifying...", "Modifications complete", "Still modifying..."),
    "delete": ("Destroying...", "Destruction complete", "Still destroying..."),
    "forget": ("Forgetting...", "Forgotten", "Still forgetting..."),
}

TERMINAL_INTERVAL = 10.0  # seconds between "Still ..." lines of one operation on a terminal
LOG_INTERVAL = 30.0  # the same in a log (not a terminal)
CLEAR_LINE = "\r\x1b[2K"  # back to the line's start, erase it: the status line goes
TICK = 0.25  # how often the ticker thread looks at the running operations


def kind(op: Operation, change: ResourceChange) -> str:
    """create, update, delete or forget: what the operation does, for its words."""
    if op.phase != "apply":
        return "forget" if change.action is Action.FORGET else "delete"
    return "update" if change.action is Action.UPDATE else "create"


def elapsed_text(seconds: float) -> str:
    """Terraform's form of a duration: `10s`, `1m0s`, `1h2m30s` (whole seconds)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


@dataclass
class Running:
    """An operation in flight: what it does, when it started, when it next says so."""

    change: ResourceChange
    started: float
    next_note: float


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _rows(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).lines
    except (AttributeError, ValueError, OSError):
        return shutil.get_terminal_size().lines


class ProgressPrinter:
    """Implements mtlsform.apply.executor.ApplyHooks for a terminal or a CI log.

    Use it as a context manager around the apply: the ticker thread runs inside the block.
    `terminal` and `rows` default to what stderr is; `clock` is time.monotonic.
    """

    def __init__(self, *, terminal: bool | None = None, rows: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.err = console.err()
        self.color = console.color_enabled()
        self.terminal = _isatty(self.err.file) if terminal is None else terminal
        self.rows = (_rows(self.err.file) if self.terminal else 0) if rows is None else rows
        self.interval = TERMINAL_INTERVAL if self.terminal else LOG_INTERVAL
        self.clock = clock
        self.running: dict[Operation, Running] = {}
        self.total = 0
        self.done = 0
        self.status_shown = False  # the status line is on screen (the cursor is after it)
        self._lock = threading.RLock()  # RLock: the Ctrl-C handler may interrupt its holder
        self._closing = threading.Event()
        self._wake = threading.Event()
        self._posted: deque[str] = deque()
        self._ticker: threading.Thread | None = None

    # --- the block the apply runs in ------------------------------------------------------

    def __enter__(self) -> ProgressPrinter:
        self._ticker = threading.Thread(target=self._tick_until_closed, daemon=True,
                                        name="mtlsform-progress")
        self._ticker.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stops the ticker and takes the status line off the screen."""
        self._closing.set()
        self._wake.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
        self._print_posted()
        with self._lock:
            self._clear_status()

    def _tick_until_closed(self) -> None:
        while True:
            self._wake.wait(TICK)
            self._wake.clear()
            self._print_posted()
            if self._closing.is_set():
                return
            self.tick()

    def _print_posted(self) -> None:
        while self._posted:
            self._print(self._posted.popleft())

    # --- printing ----------------------------------------------------------------------------

    @property
    def shows_status(self) -> bool:
        """A status line is kept on a terminal when the apply is more than a screen."""
        return self.terminal and self.total > self.rows

    def status_text(self) -> str:
        """The status line: `Progress: 3/48 operations done, 2 running`."""
        return (f"Progress: {self.done}/{self.total} operations done, "
                f"{len(self.running)} running")

    def _clear_status(self) -> None:
        if self.status_shown:
            # straight to the file: rich leaves control codes out where it sees no terminal
            self.err.file.write(CLEAR_LINE)
            self.err.file.flush()
            self.status_shown = False

    def _draw_status(self) -> None:
        if self.shows_status:
            # never wider than the terminal: a wrapped status line could not be cleared
            text = self.status_text()[:max(1, self.err.width - 1)]
            self.err.print(text, markup=False, highlight=False, end="")
            self.err.file.flush()
            self.status_shown = True

    def _print(self, text: str, style: str = "") -> None:
        with self._lock:
            self._clear_status()
            if self.color and style:
                self.err.print(f"[{style}]{escape(text)}[/]", highlight=False)
            else:
                self.err.print(text, markup=False, highlight=False)
            self._draw_status()

    def post(self, text: str) -> None:
        """A message of the CLI's while the apply runs, printed above the status line by the
        ticker thread. Safe in a signal handler: it only queues the text (printing there could
        run inside a print the handler interrupted, and repeat it)."""
        self._posted.append(text)
        self._wake.set()

    def last_words(self, text: str) -> None:
        """The final message of a run that stops at once, written straight to stderr's file
        (no console buffer that the interrupted thread may be using); the status line goes."""
        data = (CLEAR_LINE if self.status_shown else "") + console.safe_text(text) + "\n"
        stream = self.err.file
        try:
            stream.flush()
            os.write(stream.fileno(), data.encode())
        except (AttributeError, ValueError, OSError):  # not a real file (a test's capture)
            stream.write(data)
            stream.flush()

    def in_flight(self) -> list[tuple[Operation, str]]:
        """The operations running now with what they do (`create`...), in address order."""
        with self._lock:
            return [(op, kind(op, running.change)) for op, running in sorted(self.running.items())]

    # --- ApplyHooks --------------------------------------------------------------------------

    def planned(self, operations: Mapping[Operation, ResourceChange]) -> None:
        with self._lock:
            self.total = len(operations)
            self.done = 0

    def started(self, operation: Operation, change: ResourceChange) -> None:
        now = self.clock()
        with self._lock:
            self.running[operation] = Running(change, now, now + self.interval)
            self._print(f"{operation}: {VERBS[kind(operation, change)][0]}")

    def finished(self, operation: Operation, change: ResourceChange, seconds: float) -> None:
        with self._lock:
            self.running.pop(operation, None)
            self.done += 1
            done = VERBS[kind(operation, change)][1]
            self._print(f"{operation}: {done} after {seconds:.1f}s", "green")

    def failed(self, operation: Operation, change: ResourceChange,
               error: BaseException) -> None:
        with self._lock:
            self.running.pop(operation, None)
            self.done += 1
            self._print(f"{operation}: failed: {error}", "red")

    # --- still running -----------------------------------------------------------------------

    def tick(self) -> int:
        """Prints `ADDRESS: Still creating... [10s elapsed]` for each operation whose next
        note is due (one line per operation, however late the tick); returns how many."""
        now = self.clock()
        printed = 0
        with self._lock:
            for op, running in sorted(self.running.items()):
                if now < running.next_note:
                    continue
                elapsed = now - running.started
                # the last multiple of the interval reached, so a late tick says the truth
                steps = int(elapsed // self.interval)
                running.next_note = running.started + (steps + 1) * self.interval
                still = VERBS[kind(op, running.change)][2]
                self._print(f"{op}: {still} [{elapsed_text(steps * self.interval)} elapsed]")
                printed += 1
        return printed
