"""Reads are batched: the number of calls does not grow with rules, targets or certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mtlsform.providers.base import ListenerSpec, LoadBalancerSpec, TargetSpec
from tests.providers.conftest import Cloud, emulated


@pytest.fixture
def cloud(tmp_path: Path, environ: dict[str, str]) -> Iterator[Cloud]:
    """Short tasks and no rate limit: these tests build large worlds, then count reads."""
    fast = {**environ, "MTLSFORM_EMULATOR_TASK_DELAY": "0.005",
            "MTLSFORM_EMULATOR_RATE_LIMIT": "off"}
    with emulated(tmp_path, fast) as opened:
        yield opened


def build(cloud: Cloud, listeners: int, rules_per_listener: int) -> str:
    """A CLB with listeners x rules, each rule with two targets; rules go in through the SDK
    directly, several per CreateRule, to keep the setup quick."""
    p = cloud.provider
    clb = cloud.context.sdk_client("clb")
    lb = p.create_load_balancer(LoadBalancerSpec(name=f"l{listeners}r{rules_per_listener}")).id
    for n in range(listeners):
        listener = p.create_listener(lb, ListenerSpec(name=f"h{n}", protocol="HTTP",
                                                      port=8000 + n))
        if not rules_per_listener:
            continue
        rules = [{"Domain": f"d{r}.example.com", "Url": "/"} for r in range(rules_per_listener)]
        answer = clb.call_json("CreateRule", {"LoadBalancerId": lb, "ListenerId": listener,
                                              "Rules": rules})
        cloud.context.emulator.wait_for_tasks()
        for location in answer["Response"]["LocationIds"][:1]:
            p.register_targets(lb, listener, location, [
                TargetSpec(port=80, instance_id="ins-rs1"),
                TargetSpec(port=80, instance_id="ins-rs2", weight=20)])
    return lb


def read_calls(cloud: Cloud, lb: str) -> tuple[dict[str, int], int, int]:
    cloud.reset()
    listeners = cloud.provider.read_listeners(lb)
    assert listeners is not None
    rules = sum(len(info.rules) for info in listeners.values())
    targets = sum(len(rule.targets) for info in listeners.values() for rule in info.rules)
    return cloud.calls(), rules, targets


def test_ten_listeners_of_ten_rules_read_in_two_calls(cloud: Cloud) -> None:
    small = build(cloud, listeners=10, rules_per_listener=1)
    large = build(cloud, listeners=10, rules_per_listener=10)
    small_calls, small_rules, small_targets = read_calls(cloud, small)
    large_calls, large_rules, large_targets = read_calls(cloud, large)
    assert (small_rules, large_rules) == (10, 100)
    assert (small_targets, large_targets) == (20, 20)
    assert large_calls == small_calls == {"DescribeListeners": 1, "DescribeTargets": 1}


def test_describe_targets_takes_twenty_listeners_a_call(cloud: Cloud) -> None:
    lb = build(cloud, listeners=21, rules_per_listener=1)
    calls, rules, _ = read_calls(cloud, lb)
    assert rules == 21
    assert calls == {"DescribeListeners": 1, "DescribeTargets": 2}


def test_listeners_without_rules_need_no_target_read(cloud: Cloud) -> None:
    lb = build(cloud, listeners=3, rules_per_listener=0)
    calls, _, _ = read_calls(cloud, lb)
    assert calls == {"DescribeListeners": 1}


def test_load_balancers_are_read_twenty_a_call(cloud: Cloud) -> None:
    real = [cloud.provider.create_load_balancer(LoadBalancerSpec(name=f"lb{n}")).id
            for n in range(2)]
    missing = [f"lb-{n:08d}" for n in range(39)]
    cloud.reset()
    found = cloud.provider.read_load_balancers(missing[:20] + real + missing[20:] + real)
    assert set(found) == set(real)
    assert cloud.calls() == {"DescribeLoadBalancers": 3}  # 41 distinct IDs
