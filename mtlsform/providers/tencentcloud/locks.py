"""One gate per load balancer: writes to a CLB are serialised, and queued writes of one kind are
combined by whichever thread gets the gate next.

The cloud refuses a second change to an instance while a task runs on it, so a write holds its
CLB's gate across the call and the wait for its task (`hold`). Writes that can share one call
(`combine`, e.g. targets of one rule) queue under a key while they wait; the thread that takes
the gate drains its key's whole queue and runs it as one piece of work, and every caller gets
its own outcome. A combining write that finds the gate free first waits for the siblings its
caller started with it that are still on their way (`seat`: each of them either queues or
leaves, see providers/together.py), so a shared call holds exactly what was started together;
without a seat it lingers a few milliseconds instead, for callers started at the same moment.
Different CLBs never wait for each other; reads take no gate. Waiting is on a condition
variable, never a busy loop.

The gates count what they saw (`occupancy`): each take and release in order, and how often a
write found its gate busy and waited. With the engine's lanes a write never waits (only a
combining write whose batch was drained without it); tests read the counts, never times.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mtlsform.providers.together import Seat

# A guard only: the longest a combining write waits for siblings of its seat that neither
# queue nor leave (which would be a bug of the caller; every member settles when it ends).
SEAT_GUARD = 60.0

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


@dataclass
class Occupancy:
    """What the gates saw: ("take" | "release", CLB) in order, and the waits on busy gates."""

    events: list[tuple[str, str]]
    waits: int

    def peak_together(self) -> int:
        """The most CLBs whose gates were held at the same moment."""
        held: set[str] = set()
        peak = 0
        for kind, load_balancer_id in self.events:
            if kind == "take":
                held.add(load_balancer_id)
                peak = max(peak, len(held))
            else:
                held.discard(load_balancer_id)
        return peak

    def peak_per_load_balancer(self) -> int:
        """The most holders one CLB's gate had at once (1 when writes never overlap)."""
        count: dict[str, int] = {}
        peak = 0
        for kind, load_balancer_id in self.events:
            count[load_balancer_id] = count.get(load_balancer_id, 0) + (
                1 if kind == "take" else -1)
            peak = max(peak, count[load_balancer_id])
        return peak


class LoadBalancerLocks:
    """Per-CLB gates; `linger` is the seconds a combining write waits for siblings."""

    def __init__(self, linger: float = 0.0) -> None:
        self.linger = linger
        self._guard = threading.Lock()
        self._gates: dict[str, _Gate] = {}
        self._events: list[tuple[str, str]] = []
        self._waits = 0

    def occupancy(self) -> Occupancy:
        with self._guard:
            return Occupancy(list(self._events), self._waits)

    def reset_occupancy(self) -> None:
        with self._guard:
            self._events.clear()
            self._waits = 0

    def _count(self, kind: str, load_balancer_id: str, waited: bool = False) -> None:
        with self._guard:
            if kind:
                self._events.append((kind, load_balancer_id))
            self._waits += waited

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
            waited = gate.busy
            while gate.busy:
                gate.changed.wait()
            gate.busy = True
            self._count("take", load_balancer_id, waited)
        try:
            yield
        finally:
            with gate.changed:
                self._count("release", load_balancer_id)
                gate.busy = False
                gate.changed.notify_all()

    def combine(self, load_balancer_id: str, key: Hashable, item: Any, run: BatchRun, *,
                weight: int = 1, capacity: int = 1, seat: Seat | None = None) -> None:
        """Queues `item` under `key` and returns when it was run (raises its error).

        The caller that gets the gate calls `run` with every item queued under its key (its own
        included) while holding the gate. `weight` is what the item adds towards `capacity`:
        once the queue holds that much, lingering stops early. With a `seat`, the caller that
        gets the gate waits until every member of its batch has queued or left instead (no
        lingering): the batch is what was started together, whatever the timing.
        """
        gate = self._gate(load_balancer_id)
        mine = _Queued(item, weight)
        with gate.changed:
            gate.queues.setdefault(key, []).append(mine)
            gate.changed.notify_all()  # a holder lingering for this key counts the newcomer
            if seat is not None:
                seat.settle()  # queued: a holder waiting for its batch counts it
            found_busy = gate.busy
            while gate.busy and not mine.taken:
                gate.changed.wait()
            if found_busy and not mine.taken:  # it waited for another batch to finish
                self._count("", load_balancer_id, True)
            if mine.taken:
                while not mine.done:
                    gate.changed.wait()
                _raise(mine.error)
                return
            gate.busy = True
            self._count("take", load_balancer_id)
            if not found_busy and seat is None:
                # Callers started at the same moment may still be arriving; those that queued
                # while the gate was busy are all here already.
                self._linger(gate, key, capacity)
        if seat is not None:  # the gate is ours (busy): wait, unlocked, for the rest to settle
            seat.together.wait(SEAT_GUARD)
        with gate.changed:
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
                self._count("release", load_balancer_id)
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
