"""The client-side rate limit: at most N calls per second for each action, shared by every
thread of one provider, so that the cloud never throttles us into backoff.

Tencent Cloud limits each action to a number of requests in any one second (20 for the CLB
actions; 10 for SSL UploadCertificate on the current international page). The limiter keeps,
per action, the times of the last N calls it let through, and a caller whose call would be the
N+1st within a second (plus a small margin for the network's jitter) waits until the oldest of
them leaves the window. Slots are handed out in the order callers ask for them, under one lock,
and each caller sleeps outside it: a thread never waits behind more than N-1 others of the
same second, whichever load balancer they write to, so reads, polls and writes of all CLBs
share an action's rate fairly (first come, first served).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Mapping

WINDOW = 1.0  # seconds over which the cloud counts
MARGIN = 0.05  # seconds added to the window: calls arrive with some jitter


class RateLimiter:
    """Per-action sliding-window limits; `limits` per action, `default` for the rest (None:
    no limit)."""

    def __init__(self, default: float | None, limits: Mapping[str, float] | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._default = default
        self._limits = dict(limits or {})
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, collections.deque[float]] = {}
        self.waits: collections.Counter[str] = collections.Counter()  # calls that waited

    def _shape(self, action: str) -> tuple[int, float] | None:
        limit = self._limits.get(action, self._default)
        if limit is None:
            return None
        if limit >= 1:
            return math.floor(limit), WINDOW + MARGIN
        return 1, WINDOW / limit + MARGIN

    def reserve(self, action: str) -> float:
        """Takes the next free slot of `action`; the seconds to wait before using it."""
        shape = self._shape(action)
        if shape is None:
            return 0.0
        capacity, window = shape
        with self._lock:
            now = self._clock()
            slots = self._slots.setdefault(action, collections.deque())
            while slots and slots[0] <= now - window:
                slots.popleft()
            # Slots stay in order: any `capacity + 1` consecutive ones span a whole window.
            at = max(now, slots[-1]) if slots else now
            if len(slots) >= capacity:
                at = max(at, slots[-capacity] + window)
            slots.append(at)
            while len(slots) > capacity:  # only the last `capacity` slots matter
                slots.popleft()
            if at > now:
                self.waits[action] += 1
            return at - now

    def acquire(self, action: str) -> None:
        """Returns when a call of `action` may be sent."""
        delay = self.reserve(action)
        if delay > 0:
            self._sleep(delay)
