"""The client-side rate limiter and the learned task times, on a fake clock: counts of calls
in windows and the order of slots, never wall time."""

from __future__ import annotations

import threading

from mtlsform.providers.tencentcloud.ratelimit import MARGIN, WINDOW, RateLimiter
from mtlsform.providers.tencentcloud.tasks import SHRINK, TaskTimes


class FakeClock:
    """A clock that only moves when a caller sleeps (each sleeper moves it for itself)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)


def most_in_one_window(times: list[float], window: float = WINDOW) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_twenty_go_at_once_and_the_next_waits_for_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    delays = [limiter.reserve("CreateRule") for _ in range(21)]
    assert delays[:20] == [0.0] * 20
    assert delays[20] == WINDOW + MARGIN
    assert limiter.waits["CreateRule"] == 1


def test_no_window_ever_holds_more_than_the_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    slots = []
    for n in range(500):
        clock.now = n * 0.013  # callers arrive at 77/s, nearly four times the limit
        slots.append(clock.now + limiter.reserve("DescribeTaskStatus"))
    assert most_in_one_window(slots) == 20
    assert slots == sorted(slots)  # first come, first served
    # The limiter lets the full rate through: 500 calls need 25 windows, not more.
    assert slots[-1] <= 25 * (WINDOW + MARGIN)


def test_actions_are_limited_apart_and_some_lower() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, {"UploadCertificate": 10.0}, clock=clock, sleep=clock.sleep)
    uploads = [limiter.reserve("UploadCertificate") for _ in range(11)]
    rules = [limiter.reserve("CreateRule") for _ in range(20)]
    assert uploads.count(0.0) == 10 and uploads[10] > 0
    assert rules == [0.0] * 20  # uploads waiting do not hold other actions back


def test_threads_share_one_limit_and_take_slots_in_turn() -> None:
    # Eight threads (one per load balancer) each making 30 polls: 240 calls, at most 20 in
    # any window, and no thread gets ahead of another by more than a window's worth.
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    slots: dict[int, list[float]] = {n: [] for n in range(8)}
    barrier = threading.Barrier(8)

    def poller(n: int) -> None:
        barrier.wait()
        for _ in range(30):
            slots[n].append(limiter.reserve("DescribeTaskStatus"))

    threads = [threading.Thread(target=poller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [t for times in slots.values() for t in times]
    assert len(every) == 240
    assert most_in_one_window(every) == 20


def test_fairness_a_late_caller_waits_behind_at_most_one_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    for _ in range(60):  # one busy load balancer's polls, queued for three windows
        limiter.reserve("DescribeTaskStatus")
    late = limiter.reserve("DescribeTaskStatus")
    # First come, first served: behind exactly those 60 calls, i.e. in the fourth window.
    assert late == 3 * (WINDOW + MARGIN)


def test_no_limit_means_no_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    assert {limiter.reserve("CreateRule") for _ in range(100)} == {0.0}
    assert clock.slept == []


def test_task_times_learn_per_action() -> None:
    times = TaskTimes(0.5)
    assert times.expected("CreateRule") == 0.5
    times.learn("CreateRule", 1.2, polls=3)  # needed more polls: found done at 1.2 s
    assert times.expected("CreateRule") == 1.2
    assert times.expected("CreateListener") == 1.2  # an unseen action: the latest lesson
    times.learn("CreateListener", 0.3, polls=2)
    assert times.expected("CreateRule") == 1.2  # a seen one keeps its own
    times.learn("CreateRule", 1.2, polls=1)  # done at once: probe a little sooner next time
    assert times.expected("CreateRule") == 1.2 * SHRINK
    for _ in range(1000):  # each first-poll hit probes SHRINK sooner
        times.learn("CreateRule", times.expected("CreateRule"), polls=1)
    assert 0 < times.expected("CreateRule") < 0.01
