"""SetLoadBalancerSecurityGroups and ModifyLoadBalancerAttributes' LoadBalancerPassToTarget and
DeleteProtect through the SDK, read back by DescribeLoadBalancers; a protected load balancer
cannot be deleted, even with ForceDelete, until protection is off."""

from __future__ import annotations

from typing import Any

from tests.emulator.helpers import call, done, error_of


def _lb(clb: Any, lb: str) -> Any:
    (found,) = call(clb, "DescribeLoadBalancers", LoadBalancerIds=[lb]).LoadBalancerSet
    return found


def _code(exc: Any) -> str:
    return str(exc).split("code:")[1].split(" ")[0]


def test_security_groups_are_replaced_as_a_list(clb: Any, lb: str) -> None:
    assert _lb(clb, lb).SecureGroups == []
    done(clb, "SetLoadBalancerSecurityGroups", LoadBalancerId=lb,
         SecurityGroups=["sg-bbbbbbbb", "sg-aaaaaaaa"])
    assert _lb(clb, lb).SecureGroups == ["sg-bbbbbbbb", "sg-aaaaaaaa"]
    done(clb, "SetLoadBalancerSecurityGroups", LoadBalancerId=lb)  # none: all unbound
    assert _lb(clb, lb).SecureGroups == []
    exc = error_of(clb, "SetLoadBalancerSecurityGroups", LoadBalancerId=lb,
                   SecurityGroups=["sg-aaaaaaaa", "sg-aaaaaaaa"])
    assert _code(exc) == "InvalidParameterValue.Duplicate"
    exc = error_of(clb, "SetLoadBalancerSecurityGroups", LoadBalancerId=lb,
                   SecurityGroups=["web-sg"])
    assert _code(exc).startswith("InvalidParameter")
    exc = error_of(clb, "SetLoadBalancerSecurityGroups", LoadBalancerId=lb,
                   SecurityGroups=[f"sg-{n:08d}" for n in range(51)])
    assert _code(exc).startswith(("InvalidParameter", "LimitExceeded"))


def test_pass_to_target_and_delete_protection(clb: Any, lb: str) -> None:
    found = _lb(clb, lb)
    assert (found.LoadBalancerPassToTarget, found.AttributeFlags) == (False, [])
    done(clb, "ModifyLoadBalancerAttributes", LoadBalancerId=lb, LoadBalancerPassToTarget=True,
         DeleteProtect=True)
    found = _lb(clb, lb)
    assert (found.LoadBalancerPassToTarget, found.AttributeFlags) == (True, ["DeleteProtect"])
    exc = error_of(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb], ForceDelete=True)
    assert _code(exc) == "OperationDenied" and "delete protection" in str(exc)
    assert _lb(clb, lb).LoadBalancerId == lb  # still there
    done(clb, "ModifyLoadBalancerAttributes", LoadBalancerId=lb, DeleteProtect=False)
    assert _lb(clb, lb).LoadBalancerPassToTarget is True  # left as it was
    done(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb])
    assert call(clb, "DescribeLoadBalancers", LoadBalancerIds=[lb]).TotalCount == 0
