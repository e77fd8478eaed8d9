"""Writes to one CLB are serialised inside the provider; different CLBs proceed in parallel."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mtlsform.providers.base import ListenerSpec, LoadBalancerSpec, RuleSpec, TargetSpec
from mtlsform.providers.tencentcloud.locks import LoadBalancerLocks
from tests.providers.conftest import Cloud, emulated


def busy_errors(cloud: Cloud) -> int:
    return sum(per_action.get("FailedOperation.ResourceInOperating", 0)
               for per_action in cloud.errors().values())


def test_many_threads_writing_one_clb_never_meet_a_busy_clb(cloud: Cloud) -> None:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="shared")).id

    def listener_with_rule(n: int) -> str:
        listener = p.create_listener(lb, ListenerSpec(name=f"h{n}", protocol="HTTP",
                                                      port=9000 + n))
        rule = p.create_rule(lb, listener, RuleSpec(domain=f"d{n}.example.com", url="/"))
        p.register_targets(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs1")])
        return listener

    cloud.reset()
    with ThreadPoolExecutor(max_workers=8) as pool:
        listeners = list(pool.map(listener_with_rule, range(8)))
    read = p.read_listeners(lb)
    assert read is not None and set(read) == set(listeners)
    assert all(len(info.rules[0].targets) == 1 for info in read.values())
    # The emulator refuses a write while a task runs on the CLB: the lock kept every write
    # from meeting one, so nothing was even retried.
    assert busy_errors(cloud) == 0
    assert cloud.calls()["CreateListener"] == 8


def test_different_clbs_are_written_in_parallel(cloud: Cloud) -> None:
    p = cloud.provider
    lbs = [p.create_load_balancer(LoadBalancerSpec(name=f"lb{n}")).id for n in range(4)]
    inside = 0
    most_inside = 0
    guard = threading.Lock()
    original = p._session.tasks.wait  # observe (not replace) the task waits to count overlaps

    def counting_wait(task_id: str, action: str):
        nonlocal inside, most_inside
        with guard:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            return original(task_id, action)
        finally:
            with guard:
                inside -= 1

    p._session.tasks.wait = counting_wait
    barrier = threading.Barrier(len(lbs))

    def write(lb: str) -> None:
        barrier.wait()
        for n in range(3):
            p.create_listener(lb, ListenerSpec(name=f"h{n}", protocol="HTTP", port=7000 + n))

    with ThreadPoolExecutor(max_workers=len(lbs)) as pool:
        list(pool.map(write, lbs))
    assert all(len(p.read_listeners(lb) or {}) == 3 for lb in lbs)
    assert most_inside > 1  # tasks of different CLBs were awaited at the same time
    assert busy_errors(cloud) == 0


def test_lock_is_per_load_balancer() -> None:
    locks = LoadBalancerLocks()
    events: list[str] = []
    other_held = threading.Event()

    def other() -> None:
        with locks.hold("lb-b"):  # free while lb-a is held
            events.append("lb-b held")
            other_held.set()
        with locks.hold("lb-a"):  # waits for the main thread
            events.append("lb-a held by the other thread")

    with locks.hold("lb-a"):
        thread = threading.Thread(target=other)
        thread.start()
        assert other_held.wait(timeout=10)
        time.sleep(0.05)  # room for the other thread to (wrongly) get lb-a now
        events.append("lb-a released")
    thread.join(timeout=10)
    assert events == ["lb-b held", "lb-a released", "lb-a held by the other thread"]


def test_reads_from_many_threads(tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, {**environ, "MTLSFORM_EMULATOR_RATE_LIMIT": "off"}) as cloud:
        p = cloud.provider
        lb = p.create_load_balancer(LoadBalancerSpec(name="r")).id
        p.create_listener(lb, ListenerSpec(name="h", protocol="HTTP", port=80))
        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(lambda _: p.read_listeners(lb), range(40)))
        assert all(r == results[0] and r for r in results)


def test_a_clb_busy_with_someone_elses_task_is_waited_out(tmp_path: Path,
                                                          environ: dict[str, str]) -> None:
    """Another client's task (not ours, so not under our lock) makes the CLB really busy."""
    with emulated(tmp_path, {**environ, "MTLSFORM_EMULATOR_TASK_DELAY": "0.3"}) as cloud:
        p = cloud.provider
        lb = p.create_load_balancer(LoadBalancerSpec(name="contended")).id
        cloud.context.sdk_client("clb").call_json(
            "CreateListener", {"LoadBalancerId": lb, "Ports": [81], "Protocol": "HTTP"})
        listener = p.create_listener(lb, ListenerSpec(name="ours", protocol="HTTP", port=80))
        assert busy_errors(cloud) >= 1  # refused at first, retried until the CLB was free
        assert {info.port for info in (p.read_listeners(lb) or {}).values()} == {80, 81}
        assert listener in (p.read_listeners(lb) or {})
