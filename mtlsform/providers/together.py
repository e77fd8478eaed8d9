"""Writes the engine started together (one batch), and which of them are still on their way.

A write that may share a call with its siblings waits for them, but only for those still
coming: each member either arrives (has queued its write with the provider) or leaves (ended
without writing, e.g. it failed first). So what a shared call holds is decided by what the
engine started together, never by what happens to arrive within a time window.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


class Together:
    """The members of one batch not yet settled; safe to use from many threads."""

    def __init__(self, members: Iterable[Hashable]) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._coming = set(members)
        self.size = len(self._coming)

    def settle(self, member: Hashable) -> None:
        """`member` has queued its write, or will not write at all (idempotent)."""
        with self._changed:
            self._coming.discard(member)
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Until every member has settled (True), or `timeout` seconds passed (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._coming, timeout)


@dataclass(frozen=True)
class Seat:
    """One member's place in a batch: what the engine hands the provider with its write."""

    together: Together
    member: Hashable

    def settle(self) -> None:
        self.together.settle(self.member)
