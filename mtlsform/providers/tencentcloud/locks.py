"""One lock per load balancer: writes to a CLB are serialised, different CLBs run in parallel.

The cloud refuses a second change to an instance while a task runs on it, so a write holds its
CLB's lock across the call and the wait for its task. Reads take no lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class LoadBalancerLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _lock_for(self, load_balancer_id: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(load_balancer_id)
            if lock is None:
                lock = self._locks[load_balancer_id] = threading.Lock()
            return lock

    @contextmanager
    def hold(self, load_balancer_id: str) -> Iterator[None]:
        with self._lock_for(load_balancer_id):
            yield
