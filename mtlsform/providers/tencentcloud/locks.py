"""One gate per load balancer: writes to a CLB are serialised, and queued writes of one kind are
combined by whichever thread gets the gate next.

The cloud refuses a second change to an instance while a task runs on it, so a write holds its
CLB's gate across the call and the wait for its task (`hold`). Writes that can share one call
(`combine`, e.g. targets of one rule) queue under a key while they wait; the thread that takes
the gate drains its key's whole queue and runs it as one piece of work, and every caller gets
its own outcome. A combining write that finds the gate free lingers a few milliseconds first, so
that siblings started at the same moment can join it. Different CLBs never wait for each other;
reads take no gate. Waiting is on a condition variable, never a busy loop.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# The work of a drained queue: items in arrival order -> one outcome per item (None: success).
BatchRun = Callable[[list[Any]], Sequence[BaseException | None]]


@dataclass(eq=False)
class _Queued:
    item: Any
    weight: int
    taken: bool = False  # a gate holder drained it: its outcome is coming
    done: bool = False
    error: BaseException | None = None


class _Gate:
    def __init__(self) -> None:
        self.changed = threading.Condition(threading.Lock())
        self.busy = False
        self.queues: dict[Hashable, list[_Queued]] = {}


class LoadBalancerLocks:
    """Per-CLB gates; `linger` is the seconds a combining write waits for siblings."""

    def __init__(self, linger: float = 0.0) -> None:
        self.linger = linger
        self._guard = threading.Lock()
        self._gates: dict[str, _Gate] = {}

    def _gate(self, load_balancer_id: str) -> _Gate:
        with self._guard:
            gate = self._gates.get(load_balancer_id)
            if gate is None:
                gate = self._gates[load_balancer_id] = _Gate()
            return gate

    @contextmanager
    def hold(self, load_balancer_id: str) -> Iterator[None]:
        """Exclusive use of the CLB for the body (one write and its task)."""
        gate = self._gate(load_balancer_id)
        with gate.changed:
            while gate.busy:
                gate.changed.wait()
            gate.busy = True
        try:
            yield
        finally:
            with gate.changed:
                gate.busy = False
                gate.changed.notify_all()

    def combine(self, load_balancer_id: str, key: Hashable, item: Any, run: BatchRun, *,
                weight: int = 1, capacity: int = 1) -> None:
        """Queues `item` under `key` and returns when it was run (raises its error).

        The caller that gets the gate calls `run` with every item queued under its key (its own
        included) while holding the gate. `weight` is what the item adds towards `capacity`:
        once the queue holds that much, lingering stops early.
        """
        gate = self._gate(load_balancer_id)
        mine = _Queued(item, weight)
        with gate.changed:
            gate.queues.setdefault(key, []).append(mine)
            gate.changed.notify_all()  # a holder lingering for this key counts the newcomer
            found_busy = gate.busy
            while gate.busy and not mine.taken:
                gate.changed.wait()
            if mine.taken:
                while not mine.done:
                    gate.changed.wait()
                _raise(mine.error)
                return
            gate.busy = True
            if not found_busy:
                # Siblings that were on their way are still arriving; those that queued while
                # the gate was busy are all here already.
                self._linger(gate, key, capacity)
            batch = gate.queues.pop(key)
            for queued in batch:
                queued.taken = True
        failure: BaseException | None = None
        try:
            outcomes = list(run([queued.item for queued in batch]))
            if len(outcomes) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(outcomes)} outcomes")
        except BaseException as exc:  # nobody must wait forever: they all get it
            failure = exc
            outcomes = [exc] * len(batch)
        finally:
            with gate.changed:
                for queued, outcome in zip(batch, outcomes, strict=False):
                    queued.error = outcome
                    queued.done = True
                gate.busy = False
                gate.changed.notify_all()
        if failure is not None:
            raise failure
        _raise(mine.error)

    def _linger(self, gate: _Gate, key: Hashable, capacity: int) -> None:
        """Waits (gate held, condition released) until `linger` passed or the queue is full."""
        if self.linger <= 0:
            return
        deadline = time.monotonic() + self.linger
        while sum(queued.weight for queued in gate.queues.get(key, ())) < capacity:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            gate.changed.wait(remaining)


def _raise(error: BaseException | None) -> None:
    if error is None:
        return
    # Callers of one failed batch share an error; each raises its own copy, so that their
    # tracebacks do not pile up on one object across threads.
    try:
        own = copy.copy(error)
    except Exception:
        own = error
    raise own
