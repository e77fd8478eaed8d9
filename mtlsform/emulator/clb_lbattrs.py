"""Load balancer attributes beyond its name: security groups (SetLoadBalancerSecurityGroups),
pass-to-target and delete protection (ModifyLoadBalancerAttributes), and DeleteLoadBalancer's
refusal of a protected load balancer.

SetLoadBalancerSecurityGroups replaces the whole list (no `SecurityGroups`: unbinds them all),
at most 50, in the order given, as an asynchronous task like the other CLB writes [UNSURE];
security groups are not modelled, so any well-formed ID is accepted. DescribeLoadBalancers
shows them as `SecureGroups`, pass-to-target as `LoadBalancerPassToTarget`, and protection as
`DeleteProtect` in `AttributeFlags`.
"""

from __future__ import annotations

from typing import Any

from mtlsform.emulator.apierror import ApiError
from mtlsform.emulator.clb_lookup import writable_lb
from mtlsform.emulator.clb_params import LB_ID
from mtlsform.emulator.params import List, Str
from mtlsform.emulator.world import LoadBalancer, WorldState

SECURITY_GROUP_ID = r"sg-[a-z0-9]{8}"
MAX_SECURITY_GROUPS = 50

SET_LOAD_BALANCER_SECURITY_GROUPS = {
    "LoadBalancerId": Str(True, pattern=LB_ID),
    "SecurityGroups": List(Str(pattern=SECURITY_GROUP_ID), max_items=MAX_SECURITY_GROUPS),
}


def set_load_balancer_security_groups(call: Any, state: WorldState,
                                      p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    groups = list(p.get("SecurityGroups") or [])
    if len(set(groups)) != len(groups):
        raise ApiError("InvalidParameterValue.Duplicate",
                       "`SecurityGroups` lists a security group more than once.")
    lb.security_groups = groups
    return {}


def modify_attributes(lb: LoadBalancer, p: dict[str, Any]) -> None:
    """The ModifyLoadBalancerAttributes fields modelled here (absent: unchanged)."""
    if "LoadBalancerPassToTarget" in p:
        lb.pass_to_target = bool(p["LoadBalancerPassToTarget"])
    if "DeleteProtect" in p:
        lb.delete_protect = bool(p["DeleteProtect"])


def refuse_protected(lb: LoadBalancer) -> None:
    """DeleteLoadBalancer of a load balancer with delete protection on. [UNSURE] the code: the
    reference lists OperationDenied among CLB's codes; ForceDelete does not lift protection."""
    if lb.delete_protect:
        raise ApiError("OperationDenied",
                       f"LoadBalancer({lb.lb_id}) has delete protection on (DeleteProtect): "
                       "turn it off with ModifyLoadBalancerAttributes before deleting it.")



