"""The per-CLB gate's combining of queued writes, with plain functions (no cloud)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from mtlsform.providers.tencentcloud.locks import LoadBalancerLocks
from mtlsform.providers.together import Seat, Together


class Recorder:
    """A batch function: records each batch; items named "bad*" fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.guard = threading.Lock()

    def __call__(self, items: list[str]) -> list[BaseException | None]:
        with self.guard:
            self.batches.append(list(items))
        return [ValueError(item) if item.startswith("bad") else None for item in items]


def run_all(calls: list[Callable[[], None]]) -> list[BaseException | None]:
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[], None]) -> BaseException | None:
        barrier.wait()
        try:
            call()
        except Exception as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def test_siblings_share_one_run_and_keep_their_own_outcome() -> None:
    locks = LoadBalancerLocks(linger=5.0)  # ends early: the queue fills up to its capacity
    record = Recorder()
    items = ["a", "bad-b", "c", "d", "bad-e", "f"]
    outcomes = run_all([lambda item=item: locks.combine("lb-1", "k", item, record,
                                                        capacity=len(items))
                        for item in items])
    assert len(record.batches) == 1 and sorted(record.batches[0]) == sorted(items)
    assert [str(o) if o else None for o in outcomes] == [None, "bad-b", None, None, "bad-e",
                                                         None]


def test_a_run_that_raises_reaches_every_caller() -> None:
    locks = LoadBalancerLocks(linger=5.0)

    def broken(items: list[str]) -> list[BaseException | None]:
        raise RuntimeError("boom")

    outcomes = run_all([lambda n=n: locks.combine("lb-1", "k", n, broken, capacity=4)
                        for n in range(4)])
    assert [str(o) for o in outcomes] == ["boom"] * 4


def wait_until_queued(locks: LoadBalancerLocks, lb: str, key: str, count: int) -> None:
    gate = locks._gate(lb)
    for _ in range(1000):
        with gate.changed:
            if len(gate.queues.get(key, ())) == count:
                return
        time.sleep(0.005)
    pytest.fail(f"{count} callers never queued")


def test_writes_queued_behind_a_held_gate_run_as_one_batch_per_key() -> None:
    locks = LoadBalancerLocks(linger=0.0)
    record = Recorder()
    with ThreadPoolExecutor(max_workers=7) as pool:
        with locks.hold("lb-1"):
            futures = [pool.submit(locks.combine, "lb-1", "k", f"x{n}", record, capacity=20)
                       for n in range(5)]
            futures += [pool.submit(locks.combine, "lb-1", "other", f"y{n}", record,
                                    capacity=20) for n in range(2)]
            wait_until_queued(locks, "lb-1", "k", 5)
            wait_until_queued(locks, "lb-1", "other", 2)
            assert record.batches == []  # nothing runs while the gate is held
        for future in futures:
            future.result(timeout=10)
    assert sorted(sorted(batch) for batch in record.batches) == [
        ["x0", "x1", "x2", "x3", "x4"], ["y0", "y1"]]


def test_other_load_balancers_do_not_wait() -> None:
    locks = LoadBalancerLocks(linger=0.0)
    record = Recorder()
    with locks.hold("lb-1"):
        locks.combine("lb-2", "k", "z", record)  # would hang if lb-1's gate applied
    assert record.batches == [["z"]]


def test_a_batch_with_seats_waits_for_every_member_however_late() -> None:
    # The third member arrives only after the first two have queued: with seats the call waits
    # for it (no time window), so the three share one run.
    locks = LoadBalancerLocks(linger=0.0)
    record = Recorder()
    batch = Together(["a", "b", "c"])
    with ThreadPoolExecutor(max_workers=3) as pool:
        early = [pool.submit(locks.combine, "lb-1", "k", item, record, seat=Seat(batch, item))
                 for item in ("a", "b")]
        wait_until_queued(locks, "lb-1", "k", 2)
        assert record.batches == []  # still waiting for "c"
        late = pool.submit(locks.combine, "lb-1", "k", "c", record, seat=Seat(batch, "c"))
        for future in [*early, late]:
            future.result()
    assert [sorted(b) for b in record.batches] == [["a", "b", "c"]]


def test_a_member_that_leaves_is_not_waited_for() -> None:
    locks = LoadBalancerLocks(linger=0.0)
    record = Recorder()
    batch = Together(["a", "b", "gone"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(locks.combine, "lb-1", "k", item, record, seat=Seat(batch, item))
                   for item in ("a", "b")]
        wait_until_queued(locks, "lb-1", "k", 2)
        assert record.batches == []
        batch.settle("gone")  # it ended without writing (the engine settles it)
        for future in futures:
            future.result()
    assert [sorted(b) for b in record.batches] == [["a", "b"]]
