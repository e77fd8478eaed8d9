"""Garbage collection tuned for large runs.

A plan or apply of 10,000 resources allocates millions of small containers that live to the
end of the run (records, configurations, changes). CPython's default thresholds then run a
full collection many times over them, which found nothing to free and cost a third of a no-op
plan of the 20 x 5 x 10 x 10 benchmark stack (bench/RESULTS.md). Inside `long_lived()`, what
exists at its start is frozen out of the collector's scans and young objects are collected
50 times less often; reference cycles are still collected, only later. A plan, which is short
and bounded by the stack, runs inside `paused()`: no automatic collection at all (its own
allocations triggered full collections that cost a fifth of the benchmark's no-op plan).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 35_000  # allocations between collections of the youngest generation
_depth = 0
_lock = threading.Lock()


@contextmanager
def long_lived() -> Iterator[None]:
    """Runs its block with fewer collections; nested blocks share the outermost's setting."""
    global _depth
    with _lock:
        _depth += 1
        outermost = _depth == 1
        if outermost:
            saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(saved[0], YOUNG_THRESHOLD), saved[1], saved[2])
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if outermost:
                gc.set_threshold(*saved)
                gc.unfreeze()


@contextmanager
def paused() -> Iterator[None]:
    """Runs its block without automatic collections (what it leaves is collected later)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
