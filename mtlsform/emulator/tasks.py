"""Asynchronous CLB tasks: a write returns at once; its change lands when its task finishes.

A handler validates the request, then `submit`s a task with an `apply(state)` closure (and an
optional `on_fail(state)` to undo what was done at once, e.g. a load balancer shown as
"creating"). The task is status 2 (running) until `task_delay` seconds have passed; then the
runner applies the change in its own transaction and marks it 0, or 1 with a message when it
fails (an injected failure, or the change is no longer possible). While a task runs on a load
balancer, other writes to it are refused with `FailedOperation.ResourceInOperating`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mtlsform.emulator.apierror import INTERNAL_ERROR_MESSAGE, ApiError, busy
from mtlsform.emulator.world import Task, World, WorldState

Change = Callable[[WorldState], None]
KEEP_FINISHED_TASKS = 300
INTERRUPTED = "The emulator stopped before the task finished; the change was not applied."


@dataclass
class _Pending:
    task_id: str
    due: float
    apply: Change | None
    on_fail: Change | None
    fail_message: str | None


class TaskRunner:
    """Runs submitted tasks when they are due, on a background thread (and on demand)."""

    def __init__(self, world: World, delay: float, clock: Callable[[], float] = time.time):
        self._world = world
        self._delay = max(0.0, delay)
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._mutex = threading.Lock()
        self._finishing = threading.Lock()  # one finisher at a time: flush() waits for others
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.completed = 0
        self.failed = 0

    # -- inside a handler's transaction -------------------------------------------------------

    @staticmethod
    def running_on(state: WorldState, lb_id: str) -> Task | None:
        for task in state.tasks.values():
            if task.status == 2 and lb_id in task.lb_ids:
                return task
        return None

    def ensure_idle(self, state: WorldState, lb_id: str) -> None:
        if self.running_on(state, lb_id) is not None:
            raise busy(lb_id)

    def submit(self, state: WorldState, request_id: str, action: str, lb_ids: list[str],
               apply: Change | None, *, on_fail: Change | None = None,
               fail_message: str | None = None, cert_refs: list[str] | None = None,
               result_lb_ids: list[str] | None = None, deal_name: str | None = None,
               ) -> _Pending:
        """Records a running task in the draft; `activate` it once the draft is committed."""
        now = self._clock()
        state.tasks[request_id] = Task(
            task_id=request_id, action=action, lb_ids=list(lb_ids), created=now,
            due=now + self._delay, deal_name=deal_name, result_lb_ids=result_lb_ids,
            cert_refs=list(cert_refs or []))
        self._prune(state)
        return _Pending(request_id, now + self._delay, apply, on_fail, fail_message)

    @staticmethod
    def _prune(state: WorldState) -> None:
        finished = [t for t in state.tasks.values() if t.status != 2]
        if len(finished) > KEEP_FINISHED_TASKS:
            finished.sort(key=lambda task: task.created)
            for task in finished[: len(finished) - KEEP_FINISHED_TASKS]:
                del state.tasks[task.task_id]

    def activate(self, pending: list[_Pending]) -> None:
        with self._mutex:
            for entry in pending:
                self._pending[entry.task_id] = entry
        self._wake.set()

    # -- finishing --------------------------------------------------------------------------

    def run_due(self) -> None:
        """Finishes every task whose time has come (callers do this before reading)."""
        now = self._clock()
        with self._finishing:
            with self._mutex:
                due = sorted((p for p in self._pending.values() if p.due <= now),
                             key=lambda p: p.due)
                for entry in due:
                    del self._pending[entry.task_id]
            for entry in due:
                self._finish(entry)

    def flush(self) -> None:
        """Finishes every pending task now (on stop, and before a simulated crash)."""
        with self._finishing:
            with self._mutex:
                entries = sorted(self._pending.values(), key=lambda p: p.due)
                self._pending.clear()
            for entry in entries:
                self._finish(entry)

    def _finish(self, entry: _Pending) -> None:
        message = entry.fail_message
        if message is None:
            try:
                with self._world.transaction() as state:
                    task = state.tasks.get(entry.task_id)
                    if task is None:
                        return
                    if entry.apply is not None:
                        entry.apply(state)
                    state.tasks[entry.task_id] = dataclasses.replace(task, status=0, message=None)
                self.completed += 1
                return
            except ApiError as exc:
                message = exc.message
            except Exception:  # a bug in a change must not leave a task running forever
                message = INTERNAL_ERROR_MESSAGE
        with contextlib.suppress(Exception), self._world.transaction() as state:
            task = state.tasks.get(entry.task_id)
            if task is None:
                return
            if entry.on_fail is not None:
                entry.on_fail(state)
            state.tasks[entry.task_id] = dataclasses.replace(task, status=1, message=message)
        self.failed += 1

    def pending_count(self) -> int:
        with self._mutex:
            return len(self._pending)

    # -- the background thread ----------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="emulator-tasks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._mutex:
                next_due = min((p.due for p in self._pending.values()), default=None)
            timeout = None if next_due is None else max(0.0, next_due - self._clock())
            self._wake.wait(timeout if timeout is None else min(timeout, 1.0))
            self._wake.clear()
            if not self._stop.is_set():
                with contextlib.suppress(Exception):
                    self.run_due()


def recover_interrupted(state: WorldState) -> None:
    """After a hard stop: load balancers still "creating" become normal; other tasks fail."""
    for task in state.pending_tasks():
        if task.action == "CreateLoadBalancer":
            for lb_id in task.lb_ids:
                if lb_id in state.load_balancers:
                    state.load_balancers[lb_id].status = 1
            done = dataclasses.replace(task, status=0, message=None)
        else:
            done = dataclasses.replace(task, status=1,
                                       message=INTERNAL_ERROR_MESSAGE + " " + INTERRUPTED)
        state.tasks[task.task_id] = done
