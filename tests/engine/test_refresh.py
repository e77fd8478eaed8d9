"""Refresh: reads are batched per CLB, and changes made outside mtlsform show up and are undone."""

from __future__ import annotations

from pathlib import Path

from tencentcloud.clb.v20180317 import models

from mtlsform.sensitive import Sensitive
from mtlsform.session import open_session
from tests.engine.conftest import stack_at
from tests.engine.stacks import many_rules_stack, write

EXAMPLE = Path("stacks/example.yaml")


def no_op_plan_calls(workdir: Path, cli, listeners: int, rules: int) -> dict[str, int]:
    path = write(workdir, f"many-{rules}.yaml", many_rules_stack(listeners, rules,
                                                                name=f"many{rules}"))
    applied = cli("apply", path, "--auto-approve")
    assert applied.code == 0, applied.text
    with open_session(stack_at(path), operation="plan") as session:
        session.provider_context.emulator.reset_stats()
        plan = session.plan()
        calls = session.provider_context.emulator_stats()["calls"]
    assert not plan.has_changes
    return calls


def test_no_op_plan_calls_do_not_grow_with_rules(workdir, cli, monkeypatch):
    monkeypatch.setenv("MTLSFORM_EMULATOR_TASK_DELAY", "0.002")  # 300+ writes to set it up
    monkeypatch.setenv("MTLSFORM_EMULATOR_RATE_LIMIT", "off")  # counts calls, not throttling
    small = no_op_plan_calls(workdir, cli, listeners=10, rules=1)
    large = no_op_plan_calls(workdir, cli, listeners=10, rules=10)
    assert large == small
    assert large == {"DescribeCertificates": 1, "DescribeListeners": 1,
                     "DescribeLoadBalancers": 1, "DescribeTargets": 1}


def test_changes_made_outside_show_up_and_apply_undoes_them(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    stack = stack_at(workdir / EXAMPLE)
    with open_session(stack, operation="tamper") as session:
        state = session.state
        lb = state.get("load_balancer.web").attributes["id"]
        listener = state.get("listener.https").attributes["id"]
        rule = state.get('rule.https["www.example.com/"]').attributes["id"]
        clb = session.provider_context.sdk_client("clb")
        emulator = session.provider_context.emulator

        weight = models.ModifyTargetWeightRequest()
        weight.from_json_string(
            f'{{"LoadBalancerId": "{lb}", "ListenerId": "{listener}", "LocationId": "{rule}",'
            ' "Targets": [{"InstanceId": "ins-rs2", "Port": 80, "Weight": 55}]}')
        clb.ModifyTargetWeight(weight)
        emulator.wait_for_tasks()
        extra = models.RegisterTargetsRequest()
        extra.from_json_string(
            f'{{"LoadBalancerId": "{lb}", "ListenerId": "{listener}", "LocationId": "{rule}",'
            ' "Targets": [{"InstanceId": "ins-rs1", "Port": 8080, "Weight": 5}]}')
        clb.RegisterTargets(extra)
        emulator.wait_for_tasks()

    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert "weight = 10 -> 55" in planned.out
    assert '# target.https["www.example.com/"].ins-rs1:8080 will be destroyed' in planned.out
    assert "(it exists in the cloud but not in the stack)" in planned.out
    assert "Plan: 0 to add, 1 to change, 1 to destroy." in planned.out

    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0

    with open_session(stack, operation="tamper") as session:
        clb = session.provider_context.sdk_client("clb")
        gone = models.DeleteRuleRequest()
        gone.from_json_string(
            f'{{"LoadBalancerId": "{lb}", "ListenerId": "{listener}", "LocationIds": ["{rule}"]}}')
        clb.DeleteRule(gone)
        session.provider_context.emulator.wait_for_tasks()

    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2
    assert '# rule.https["www.example.com/"] has been deleted' in planned.out
    assert "(it was deleted outside mtlsform)" in planned.out
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in planned.out  # the rule, its 2 targets
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_refresh_false_trusts_the_state(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    stack = stack_at(workdir / EXAMPLE)
    with open_session(stack, operation="plan") as session:
        session.provider_context.emulator.reset_stats()
        plan = session.plan(refresh_first=False)
        calls = session.provider_context.emulator_stats()["calls"]
        assert session.apply(plan, p12_password=Sensitive("x"))[0].ok
    assert not plan.has_changes
    assert calls == {}
    assert cli("plan", EXAMPLE, "--refresh=false", "--detailed-exitcode").code == 0
