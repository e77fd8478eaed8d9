"""Target writes of one rule made at the same time share API calls, each caller keeping its own
outcome; different rules, actions and CLBs are never mixed."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtlsform.errors import ProviderError
from mtlsform.providers.base import ListenerSpec, LoadBalancerSpec, RuleSpec, TargetSpec
from tests.providers.conftest import Cloud, emulated, instance_ids


@dataclass(frozen=True)
class Rule:
    lb: str
    listener: str
    id: str


def make_rule(cloud: Cloud, lb: str | None = None, port: int = 80,
              domain: str = "www.example.com") -> Rule:
    p = cloud.provider
    lb = lb or p.create_load_balancer(LoadBalancerSpec(name="merge")).id
    listener = p.create_listener(lb, ListenerSpec(name=f"h{port}", protocol="HTTP", port=port))
    return Rule(lb, listener, p.create_rule(lb, listener, RuleSpec(domain=domain, url="/")))


def bound(cloud: Cloud, rule: Rule) -> dict[str, int]:
    """Instance -> weight of the targets bound to the rule."""
    listeners = cloud.provider.read_listeners(rule.lb) or {}
    (info,) = [r for r in listeners[rule.listener].rules if r.id == rule.id]
    return {t.instance_id or t.ip or "": t.weight for t in info.targets}


def together(calls: Sequence[Callable[[], None]]) -> list[BaseException | None]:
    """Runs the calls on as many threads, released at once; the outcome of each."""
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[], None]) -> BaseException | None:
        barrier.wait()
        try:
            call()
        except Exception as exc:  # each caller's own outcome is what is checked
            return exc
        return None

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def target(instance: str, weight: int = 10) -> TargetSpec:
    return TargetSpec(port=80, instance_id=instance, weight=weight)


def merged_calls(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, int, str]]:
    """(action, targets, callers, rule) of every target call the provider logged."""
    pattern = re.compile(r"(\w+): (\d+) targets of (\d+) callers in one call \(\S+ \S+ (\S+)\)")
    found = []
    for record in caplog.records:
        match = pattern.fullmatch(record.getMessage())
        if match:
            action, targets, callers, rule = match.groups()
            found.append((action, int(targets), int(callers), rule))
    return found


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG, logger="mtlsform.provider")
    yield caplog


@pytest.fixture(params=["default linger", "no linger"])
def linger_cloud(request: pytest.FixtureRequest, tmp_path: Path,
                 environ: dict[str, str]) -> Iterator[Cloud]:
    """Merging works with the linger and without it (then the first caller goes alone and the
    others join while its task runs)."""
    extra = {"MTLSFORM_TARGET_LINGER": "0"} if request.param == "no linger" else {}
    with emulated(tmp_path, {**environ, **extra}) as opened:
        yield opened


def test_ten_callers_of_one_rule_share_calls_for_each_action(linger_cloud: Cloud) -> None:
    cloud, p = linger_cloud, linger_cloud.provider
    rule = make_rule(cloud)
    names = instance_ids(10)
    where = (rule.lb, rule.listener, rule.id)

    cloud.reset()
    outcomes = together([lambda n=n, i=i: p.register_targets(*where, [target(i, 10 + n)])
                         for n, i in enumerate(names)])
    assert outcomes == [None] * 10
    assert cloud.calls()["RegisterTargets"] <= 2
    assert bound(cloud, rule) == {i: 10 + n for n, i in enumerate(names)}

    cloud.reset()
    outcomes = together([lambda n=n, i=i: p.modify_target_weights(*where, [target(i, 50 + n)])
                         for n, i in enumerate(names)])
    assert outcomes == [None] * 10
    assert cloud.calls()["ModifyTargetWeight"] <= 2
    assert bound(cloud, rule) == {i: 50 + n for n, i in enumerate(names)}

    cloud.reset()
    outcomes = together([lambda i=i: p.deregister_targets(*where, [target(i)]) for i in names])
    assert outcomes == [None] * 10
    assert cloud.calls()["DeregisterTargets"] <= 2
    assert bound(cloud, rule) == {}
    assert not cloud.errors()  # nothing was refused on the way, not even once


def test_a_long_linger_gathers_twenty_siblings_into_one_call(tmp_path: Path,
                                                            environ: dict[str, str]) -> None:
    with emulated(tmp_path, {**environ, "MTLSFORM_TARGET_LINGER": "1"}) as cloud:
        rule = make_rule(cloud)
        names = instance_ids(20)
        cloud.reset()
        outcomes = together([lambda i=i: cloud.provider.register_targets(
            rule.lb, rule.listener, rule.id, [target(i)]) for i in names])
        assert outcomes == [None] * 20
        assert cloud.calls()["RegisterTargets"] == 1  # full at 20: nobody waited for more
        assert set(bound(cloud, rule)) == set(names)


def test_twenty_five_targets_go_in_calls_of_at_most_twenty(cloud: Cloud,
                                                           debug_log: pytest.LogCaptureFixture
                                                           ) -> None:
    rule = make_rule(cloud)
    names = instance_ids(25)
    orders = [names[start:start + 5] for start in range(0, 25, 5)]  # 5 callers of 5 targets
    cloud.reset()
    outcomes = together([lambda order=order: cloud.provider.register_targets(
        rule.lb, rule.listener, rule.id, [target(i) for i in order]) for order in orders])
    assert outcomes == [None] * 5
    assert set(bound(cloud, rule)) == set(names)
    calls = merged_calls(debug_log)
    assert len(calls) == cloud.calls()["RegisterTargets"] >= 2
    assert sum(n for _, n, _, _ in calls) == 25
    assert max(n for _, n, _, _ in calls) <= 20
    assert any(callers > 1 for _, _, callers, _ in calls)  # callers did share calls
    assert "RegisterTargets" not in cloud.errors()  # the emulator refuses more than 20


def test_rules_actions_and_load_balancers_are_never_mixed(cloud: Cloud,
                                                          debug_log: pytest.LogCaptureFixture
                                                          ) -> None:
    p = cloud.provider
    first = make_rule(cloud)
    sibling = make_rule(cloud, lb=first.lb, port=81)  # same CLB, another listener and rule
    same_listener = Rule(first.lb, first.listener, p.create_rule(
        first.lb, first.listener, RuleSpec(domain="api.example.com", url="/")))
    elsewhere = make_rule(cloud)  # another CLB
    rules = [first, sibling, same_listener, elsewhere]
    names = instance_ids(24)
    # `first` also gets weight changes for targets it already has, at the same time.
    reweigh = ["ins-rs1", "ins-rs2"]
    p.register_targets(first.lb, first.listener, first.id, [target(i) for i in reweigh])

    calls: list[Callable[[], None]] = []
    expected: dict[Rule, dict[str, int]] = {}
    for r, rule in enumerate(rules):
        mine = names[r * 6:(r + 1) * 6]
        expected[rule] = {i: 10 + r for i in mine}
        calls += [lambda rule=rule, i=i, r=r: p.register_targets(
            rule.lb, rule.listener, rule.id, [target(i, 10 + r)]) for i in mine]
    calls += [lambda i=i: p.modify_target_weights(first.lb, first.listener, first.id,
                                                  [target(i, 77)]) for i in reweigh]
    expected[first].update({i: 77 for i in reweigh})

    cloud.reset()
    debug_log.clear()
    assert together(calls) == [None] * len(calls)
    for rule in rules:
        assert bound(cloud, rule) == expected[rule]
    counts = cloud.calls()
    assert len(rules) <= counts["RegisterTargets"] <= 2 * len(rules)
    assert 1 <= counts["ModifyTargetWeight"] <= 2
    logged = merged_calls(debug_log)
    per_rule = {rule.id: sum(n for action, n, _, logged_rule in logged
                             if logged_rule == rule.id and action == "RegisterTargets")
                for rule in rules}
    assert per_rule == {rule.id: 6 for rule in rules}
    assert sum(n for action, n, _, _ in logged if action == "ModifyTargetWeight") == 2


# --- failures: every caller gets its own outcome ----------------------------------------------


def registers(cloud: Cloud, rule: Rule, names: Sequence[str]) -> list[Callable[[], None]]:
    return [lambda i=i: cloud.provider.register_targets(rule.lb, rule.listener, rule.id,
                                                        [target(i)]) for i in names]


def test_an_error_no_target_causes_reaches_every_caller_once(tmp_path: Path,
                                                             environ: dict[str, str]) -> None:
    faulty = {**environ, "MTLSFORM_EMULATOR_FAULTS": "RegisterTargets:InternalError:1"}
    with emulated(tmp_path, faulty) as cloud:
        rule = make_rule(cloud)
        cloud.reset()
        outcomes = together(registers(cloud, rule, instance_ids(10)))
        assert all(isinstance(o, ProviderError) and o.code == "InternalError" for o in outcomes)
        assert len({id(o) for o in outcomes}) == 10  # each caller raised its own copy
        assert cloud.calls()["RegisterTargets"] <= 2  # not sent again per caller: no use
        assert bound(cloud, rule) == {}


def test_a_parameter_error_is_retried_per_caller(tmp_path: Path,
                                                 environ: dict[str, str]) -> None:
    faulty = {**environ, "MTLSFORM_EMULATOR_FAULTS": "RegisterTargets:InvalidParameter:1"}
    with emulated(tmp_path, faulty) as cloud:
        rule = make_rule(cloud)
        cloud.reset()
        outcomes = together(registers(cloud, rule, instance_ids(10)))
        assert all(isinstance(o, ProviderError) and o.code == "InvalidParameter"
                   for o in outcomes)
        # Merged calls (one or two), then each caller alone: never more than one call more
        # than without merging.
        assert 10 < cloud.calls()["RegisterTargets"] <= 10 + 2


def test_one_unknown_instance_fails_only_its_caller(cloud: Cloud) -> None:
    rule = make_rule(cloud)
    names = instance_ids(9)
    cloud.reset()
    outcomes = together(registers(cloud, rule, [*names[:4], "ins-nothere", *names[4:]]))
    failed = outcomes.pop(4)
    assert isinstance(failed, ProviderError) and failed.code == "InvalidParameter"
    assert "ins-nothere" in str(failed)
    assert outcomes == [None] * 9
    assert set(bound(cloud, rule)) == set(names)
    assert cloud.calls()["RegisterTargets"] <= 2 + 10


def test_a_failed_task_fails_each_caller(tmp_path: Path, environ: dict[str, str]) -> None:
    failing = {**environ, "MTLSFORM_EMULATOR_TASK_FAILURES": "RegisterTargets:1"}
    with emulated(tmp_path, failing) as cloud:
        rule = make_rule(cloud)
        outcomes = together(registers(cloud, rule, instance_ids(4)))
        assert all(isinstance(o, ProviderError) and o.code == "TaskFailed" for o in outcomes)
        assert bound(cloud, rule) == {}


def test_weights_of_a_target_not_bound_fail_only_that_caller(cloud: Cloud) -> None:
    p = cloud.provider
    rule = make_rule(cloud)
    names = instance_ids(6)
    p.register_targets(rule.lb, rule.listener, rule.id, [target(i) for i in names])
    outcomes = together([lambda i=i: p.modify_target_weights(
        rule.lb, rule.listener, rule.id, [target(i, 42)]) for i in [*names, "ins-t07"]])
    missing = outcomes.pop()
    assert isinstance(missing, ProviderError) and "ins-t07" in str(missing)
    assert outcomes == [None] * 6
    assert bound(cloud, rule) == {i: 42 for i in names}


def test_partly_done_merged_calls_send_only_what_is_left(cloud: Cloud) -> None:
    """A target already bound (a retry after a lost answer) or already gone (an interrupted
    destroy) among merged ones: the rule is re-read and the rest is sent; nobody fails."""
    p = cloud.provider
    rule = make_rule(cloud)
    names = instance_ids(8)
    p.register_targets(rule.lb, rule.listener, rule.id, [target(names[3])])
    assert together(registers(cloud, rule, names)) == [None] * 8
    assert set(bound(cloud, rule)) == set(names)

    p.deregister_targets(rule.lb, rule.listener, rule.id, [target(names[5])])
    assert together([lambda i=i: p.deregister_targets(rule.lb, rule.listener, rule.id,
                                                      [target(i)]) for i in names]) == [None] * 8
    assert bound(cloud, rule) == {}
    errors = cloud.errors()
    assert errors["RegisterTargets"] == {"InvalidParameterValue.Duplicate": 1}
    assert errors["DeregisterTargets"] == {"InvalidParameter": 1}
