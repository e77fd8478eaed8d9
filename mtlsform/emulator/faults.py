"""Limits and injected faults at run time: per-action rate limit, latency, errors, failing tasks,
the one refused Nth mutating call, and the crash after N mutating calls, with the log of the
mutating calls that landed (what kill and fault tests count). Randomness comes from one
seedable generator."""

from __future__ import annotations

import collections
import math
import os
import random
import threading
import time
from collections.abc import Callable

from mtlsform.emulator.apierror import INTERNAL_ERROR_MESSAGE, ApiError, busy, rate_limited
from mtlsform.emulator.config import FaultConfig


class RateLimiter:
    """Sliding one-second window per action (a limit below 1/s widens the window)."""

    def __init__(self, limit: float | None, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._calls: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def limit_for(self, cap: float | None = None) -> float | None:
        """The limit an action has: the configured one, lowered to `cap` (the SSL actions'
        documented 10 requests/s) when that is lower."""
        if self.limit is None or cap is None:
            return self.limit
        return min(self.limit, cap)

    def admit(self, action: str, cap: float | None = None) -> int | None:
        """None when the call may proceed, else the count to report in the error message."""
        limit = self.limit_for(cap)
        if limit is None:
            return None
        capacity, span = (math.floor(limit), 1.0) if limit >= 1 else (1, 1.0 / limit)
        now = self._clock()
        with self._lock:
            window = self._calls.setdefault(action, collections.deque())
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= capacity:
                return len(window) + 1
            window.append(now)
            return None


class Faults:
    """Decides, per call, the injected latency, error, task failure and crash."""

    def __init__(self, config: FaultConfig):
        self.config = config
        self._random = random.Random(config.seed)
        self._lock = threading.Lock()
        self._mutations = 0
        self._arrivals = 0  # mutating calls past the rate limit and injected errors
        self._failed_call = False
        self.injected = 0

    def _roll(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    def latency(self, action: str) -> float:
        specific = [s for a, s in self.config.latency if a == action]
        general = [s for a, s in self.config.latency if a == "*"]
        return (specific or general or [0.0])[0]

    def error(self, action: str, lb_hint: str | None, rate_limit: float | None,
              ) -> ApiError | None:
        for rule in self.config.errors:
            if rule.action in ("*", action) and self._roll(rule.rate):
                self.injected += 1
                return _error_for(rule.code, lb_hint, rate_limit)
        return None

    def task_failure(self, action: str) -> str | None:
        for name, rate in self.config.task_failures:
            if name in ("*", action) and self._roll(rate):
                self.injected += 1
                return (f"Task failed: the backend could not complete {action} "
                        "(injected by the emulator). Please retry.")
        return None

    def refused_call(self) -> ApiError | None:
        """With `fail_call` N: the error for the Nth mutating call to arrive, once.

        Arrivals are numbered as they come, under the lock: counting landed calls instead
        would let two concurrent calls both pass N-1 and no call ever be the Nth."""
        number = self.config.fail_call
        if number is None:
            return None
        with self._lock:
            self._arrivals += 1
            if self._failed_call or self._arrivals != number:
                return None
            self._failed_call = True
            self.injected += 1
        return _error_for(self.config.fail_code, None, None)

    def crash_before_call(self) -> bool:
        """With `crash_before_apply`: True once N mutating calls were served (the next dies)."""
        limit = self.config.crash_after
        if limit is None or not self.config.crash_before_apply:
            return False
        with self._lock:
            return self._mutations >= limit

    def count_mutation(self, action: str) -> bool:
        """Counts one accepted mutating call (and logs it); True when the server must die
        before answering."""
        with self._lock:
            self._mutations += 1
            if self.config.call_log is not None:
                _append_line(self.config.call_log, f"{self._mutations} {action}\n")
            limit = self.config.crash_after
            return (limit is not None and not self.config.crash_before_apply
                    and self._mutations >= limit)

def _append_line(path: os.PathLike[str] | str, line: str) -> None:
    """One whole line at the end of the file, on disk before the call is answered (or dies)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def _error_for(code: str, lb_hint: str | None, rate_limit: float | None) -> ApiError:
    if code == "FailedOperation.ResourceInOperating":
        return busy(lb_hint or "lb-00000000")
    if code.startswith("RequestLimitExceeded") or code == "LimitExceeded.RateLimitExceeded":
        limit = rate_limit or 20
        return rate_limited(code, int(limit) + 1, limit)
    if code.startswith("InternalError"):
        return ApiError(code, INTERNAL_ERROR_MESSAGE)
    return ApiError(code, f"Injected fault: {code}.")
