"""Security groups, pass-to-target and delete protection of a CLB the stack owns, end to end on
the embedded emulator: set at create, read back at no extra call, drift shown and undone in
place, and a destroy of a protected CLB refused clearly, with nothing lost, until
`delete_protection: false` is applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tencentcloud.clb.v20180317 import models

from mtlsform.session import open_session
from tests.engine.conftest import edit, stack_at

EXAMPLE = Path("stacks/example.yaml")
ATTRIBUTES = """    network: public
    security_groups: [sg-aaaaaaaa, sg-bbbbbbbb]
    pass_to_target: true
    delete_protection: true
"""


def _sdk(workdir: Path, action: str, fields: dict[str, Any]) -> Any:
    with open_session(stack_at(workdir / EXAMPLE), operation="tamper") as session:
        clb = session.provider_context.sdk_client("clb")
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(fields))
        answer = getattr(clb, action)(request)
        session.provider_context.emulator.wait_for_tasks()
        return answer


def _flat(text: str) -> str:
    return " ".join(text.split())


def _cloud(workdir: Path) -> Any:
    (lb,) = _sdk(workdir, "DescribeLoadBalancers", {}).LoadBalancerSet
    return lb


def test_security_groups_pass_to_target_and_delete_protection(workdir: Path, cli: Any) -> None:
    edit(workdir / EXAMPLE, "    network: public\n", ATTRIBUTES)
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    lb = _cloud(workdir)
    assert (lb.SecureGroups, lb.LoadBalancerPassToTarget, lb.AttributeFlags) == (
        ["sg-aaaaaaaa", "sg-bbbbbbbb"], True, ["DeleteProtect"])

    with open_session(stack_at(workdir / EXAMPLE), operation="plan") as session:
        session.provider_context.emulator.reset_stats()
        plan = session.plan()
        calls = session.provider_context.emulator_stats()["calls"]
    assert not plan.has_changes
    assert calls == {"DescribeCertificates": 1, "DescribeListeners": 1,
                     "DescribeLoadBalancers": 1, "DescribeTargets": 1}

    lb_id = lb.LoadBalancerId  # changed by hand: shown, and put back in place
    _sdk(workdir, "SetLoadBalancerSecurityGroups", {"LoadBalancerId": lb_id,
                                                    "SecurityGroups": ["sg-cccccccc"]})
    _sdk(workdir, "ModifyLoadBalancerAttributes", {"LoadBalancerId": lb_id,
                                                   "LoadBalancerPassToTarget": False})
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "# load_balancer.web has changed" in planned.out
    assert "~ pass_to_target = true -> false" in _flat(planned.out)
    assert "# load_balancer.web will be updated in place" in planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    lb = _cloud(workdir)
    assert (lb.SecureGroups, lb.LoadBalancerPassToTarget) == (["sg-aaaaaaaa", "sg-bbbbbbbb"],
                                                             True)
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0

    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 1
    assert "has delete protection on: the cloud will refuse to delete it" in _flat(destroyed.text)
    assert f"load balancer {lb_id} has delete protection on: the cloud refused" in _flat(
        destroyed.text)
    assert "set delete_protection: false on it in the stack and apply" in _flat(destroyed.text)
    assert "Traceback" not in destroyed.text
    assert _cloud(workdir).LoadBalancerId == lb_id  # kept, with its listener
    with open_session(stack_at(workdir / EXAMPLE), operation="read") as session:
        assert session.state.get("load_balancer.web") is not None
        assert session.state.get("listener.https") is not None

    edit(workdir / EXAMPLE, "delete_protection: true", "delete_protection: false")
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2
    assert "~ delete_protection = true -> false" in _flat(planned.out)
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert _cloud(workdir).AttributeFlags == []
    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert _sdk(workdir, "DescribeLoadBalancers", {}).TotalCount == 0
