"""CLB load balancers and tasks: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
DescribeTaskStatus, DescribeLoadBalancerListByCertId."""

from __future__ import annotations

import ipaddress
import secrets
import time
from typing import Any

from mtlsform.emulator import clb_lbattrs, clb_views
from mtlsform.emulator.apierror import ApiError, missing
from mtlsform.emulator.clb_lookup import writable_lb
from mtlsform.emulator.cloudids import VIP_NETWORK, allocate_address
from mtlsform.emulator.world import LoadBalancer, WorldState
from mtlsform.emulator.worlddraft import shared_values

QUOTA_PER_TYPE = 100  # load balancers per region, per network type
FILTER_NAMES = ("charge-type", "internet-charge-type", "master-zone-id", "tag-key",
                "function-name", "vip-isp", "sla-type", "exclusive")


def _used_vips(state: WorldState) -> set[str]:
    return {lb.vip for lb in shared_values(state.load_balancers)}


def _vip(state: WorldState, wanted: str | None) -> str:
    used = _used_vips(state)
    if wanted is None:
        return allocate_address(VIP_NETWORK, used)
    try:
        address = ipaddress.IPv4Address(wanted)
    except ValueError:
        raise ApiError("InvalidParameterValue", f"`Vip` {wanted!r} is not an IPv4 address.") \
            from None
    if address not in VIP_NETWORK or address in (VIP_NETWORK.network_address,
                                                 VIP_NETWORK.broadcast_address):
        raise ApiError("InvalidParameterValue",
                       f"`Vip` {wanted} is not available: the emulator's VIPs are host "
                       f"addresses of {VIP_NETWORK}.")
    if wanted in used:
        raise ApiError("InvalidParameterValue", f"`Vip` {wanted} is already in use.")
    return wanted


def create_load_balancer(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb_type = p["LoadBalancerType"]
    if lb_type == "INTERNAL":
        for name in ("VpcId", "SubnetId"):
            if name not in p:
                raise missing(name)
    token = p.get("ClientToken")
    if token:
        same = [lb.lb_id for lb in shared_values(state.load_balancers)
                if lb.client_token == token and lb.region == call.region]
        if same:  # idempotent: the first request's load balancers, no new ones
            first = next((t for t in state.tasks.values() if set(t.lb_ids) == set(same)
                          and t.action == "CreateLoadBalancer"), None)
            deal = first.deal_name if first else None
            # This request's ID is a task too: it finishes like the first one, locking nothing.
            call.new_tasks.append(call.runner.submit(
                state, call.request_id, call.action, [], None, result_lb_ids=same))
            return {"LoadBalancerIds": same, "DealName": deal}
    number = p.get("Number", 1)
    existing = sum(1 for lb in shared_values(state.load_balancers)
                   if lb.region == call.region and lb.lb_type == lb_type)
    if existing + number > QUOTA_PER_TYPE:
        raise ApiError("LimitExceeded",
                       f"The number of {lb_type} load balancers in {call.region} would exceed "
                       f"the quota of {QUOTA_PER_TYPE} ({existing} exist).")
    if number > 1 and "Vip" in p:
        raise ApiError("InvalidParameter", "`Vip` can only be given when creating one instance.")
    zone = next((p[k] for k in ("MasterZoneId", "ZoneId")
                 if str(p.get(k, "")).startswith(call.region + "-")), f"{call.region}-3")
    net = p.get("InternetAccessible", {})
    ids = []
    taken = {lb.name for lb in shared_values(state.load_balancers) if lb.region == call.region}
    for _ in range(number):
        lb_id = call.new_id("lb-", state.load_balancers)
        name = str(p["LoadBalancerName"]) if number == 1 and "LoadBalancerName" in p else lb_id
        if name in taken:  # "the system generates the name of the instance being created"
            name = lb_id
        taken.add(name)
        state.load_balancers[lb_id] = LoadBalancer(
            lb_id=lb_id, region=call.region, name=name, lb_type=lb_type,
            vip=_vip(state, p.get("Vip")), create_time=call.time, status=0,
            status_time=call.time, project_id=p.get("ProjectId", 0),
            vpc_id=p.get("VpcId", "vpc-default0"), subnet_id=p.get("SubnetId"),
            zone=zone, sla_type=p.get("SlaType"), client_token=token,
            bandwidth_out=net.get("InternetMaxBandwidthOut", 10),
            internet_charge_type=net.get("InternetChargeType", "TRAFFIC_POSTPAID_BY_HOUR"),
            charge_type=p.get("LBChargeType", "POSTPAID_BY_HOUR"),
            tags=[dict(tag) for tag in p.get("Tags", [])])
        ids.append(lb_id)
    deal = time.strftime("%Y%m%d") + "".join(secrets.choice("0123456789") for _ in range(8))

    def ready(st: WorldState) -> None:
        for lb_id in ids:
            if lb_id in st.load_balancers:
                st.load_balancers[lb_id].status = 1
                st.load_balancers[lb_id].status_time = call.time

    def undo(st: WorldState) -> None:
        for lb_id in ids:
            st.load_balancers.pop(lb_id, None)

    call.submit_task(state, ids, ready, on_fail=undo, result_lb_ids=list(ids), deal_name=deal)
    return {"LoadBalancerIds": ids, "DealName": deal}


def _filtered(call: Any, state: WorldState, p: dict[str, Any]) -> list[LoadBalancer]:
    lbs = [lb for lb in state.load_balancers.values() if lb.region == call.region]
    if p.get("LoadBalancerIds"):
        lbs = [lb for lb in lbs if lb.lb_id in p["LoadBalancerIds"]]
    if "LoadBalancerType" in p:
        lbs = [lb for lb in lbs if lb.lb_type == p["LoadBalancerType"]]
    if p.get("Forward", -1) != -1:
        lbs = [lb for lb in lbs if lb.forward == p["Forward"]]
    if p.get("LoadBalancerName"):
        lbs = [lb for lb in lbs if p["LoadBalancerName"] in lb.name]
    if p.get("Domain"):
        lbs = [lb for lb in lbs if p["Domain"] in clb_views.load_balancer_domain(lb)]
    if p.get("LoadBalancerVips"):
        lbs = [lb for lb in lbs if lb.vip in p["LoadBalancerVips"]]
    if p.get("BackendPrivateIps"):
        wanted = set(p["BackendPrivateIps"])
        lbs = [lb for lb in lbs if wanted & _target_ips(lb)]
    if p.get("BackendPublicIps"):
        lbs = []  # emulated backends have no public addresses
    if "ProjectId" in p:
        lbs = [lb for lb in lbs if lb.project_id == p["ProjectId"]]
    if p.get("VpcId"):
        lbs = [lb for lb in lbs if lb.vpc_id == p["VpcId"]]
    if p.get("WithRs", -1) != -1:
        lbs = [lb for lb in lbs if bool(clb_views.target_count(lb)) == bool(p["WithRs"])]
    if p.get("SearchKey"):
        key = p["SearchKey"]
        lbs = [lb for lb in lbs if key in lb.name or key in lb.lb_id or key in lb.vip]
    for flt in p.get("Filters", []):
        lbs = [lb for lb in lbs if _filter_match(lb, flt["Name"], flt["Values"])]
    return lbs


def _target_ips(lb: LoadBalancer) -> set[str]:
    ips = set()
    for lst in lb.listeners.values():
        ips |= {t.ip for t in lst.targets}
        for rule in lst.rules.values():
            ips |= {t.ip for t in rule.targets}
    return ips


def _filter_match(lb: LoadBalancer, name: str, values: list[str]) -> bool:
    tags = {tag["TagKey"]: tag["TagValue"] for tag in lb.tags}
    if name.startswith("tag:"):
        return tags.get(name[4:]) in values
    if name not in FILTER_NAMES:
        raise ApiError("InvalidParameterValue.InvalidFilter",
                       f"The filter `{name}` is not supported; use one of "
                       f"{', '.join(FILTER_NAMES)} or tag:<key>.")
    actual = {"charge-type": [lb.charge_type],
              "internet-charge-type": [lb.internet_charge_type],
              "master-zone-id": [lb.zone, str(clb_views.zone_info(lb)["ZoneId"])],
              "tag-key": list(tags), "function-name": [],
              "vip-isp": ["BGP"] if lb.lb_type == "OPEN" else [],
              "sla-type": [lb.sla_type or "shared"], "exclusive": ["0"]}[name]
    return any(value in actual for value in values)


def describe_load_balancers(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lbs = _filtered(call, state, p)
    order = p.get("OrderBy", "CreateTime")
    key = {"LoadBalancerName": lambda lb: lb.name, "CreateTime": lambda lb: lb.create_time,
           "Domain": lambda lb: lb.lb_id, "LoadBalancerType": lambda lb: lb.lb_type}[order]
    if p.get("OrderType", 1) == 1:
        lbs = list(reversed(lbs))  # newest first among equal keys too
    lbs.sort(key=key, reverse=p.get("OrderType", 1) == 1)
    offset, limit = p.get("Offset", 0), p.get("Limit", 20) or 20
    extra = "TargetCount" in p.get("AdditionalFields", [])
    return {"TotalCount": len(lbs),
            "LoadBalancerSet": [clb_views.load_balancer(lb, with_target_count=extra)
                                for lb in lbs[offset:offset + limit]]}


# What ModifyLoadBalancerAttributes changes here; its other fields are not modelled.
_MODIFIABLE = ("LoadBalancerId", "LoadBalancerName", "LoadBalancerPassToTarget", "DeleteProtect")


def modify_load_balancer_attributes(call: Any, state: WorldState,
                                    p: dict[str, Any]) -> dict[str, Any]:
    """Renames a load balancer, sets pass-to-target and delete protection (an asynchronous
    task, like the cloud's)."""
    unmodelled = sorted(set(p) - set(_MODIFIABLE))
    if unmodelled:
        raise ApiError("UnsupportedOperation",
                       f"The emulator does not model {', '.join(unmodelled)} of "
                       "ModifyLoadBalancerAttributes; only LoadBalancerName, "
                       "LoadBalancerPassToTarget and DeleteProtect.")
    lb = writable_lb(call, state, p["LoadBalancerId"])
    if "LoadBalancerName" in p:
        lb.name = p["LoadBalancerName"]
    clb_lbattrs.modify_attributes(lb, p)
    return {"DealName": None}


def delete_load_balancer(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    ids = list(dict.fromkeys(p["LoadBalancerIds"]))
    for lb_id in ids:
        lb = writable_lb(call, state, lb_id)
        clb_lbattrs.refuse_protected(lb)
        count = clb_views.target_count(lb)
        if count >= 20 and not p.get("ForceDelete"):
            raise ApiError("FailedOperation.TargetNumCheckRisk",
                           f"LoadBalancer({lb_id}) has {count} bound targets (20 or more); set "
                           "ForceDelete to delete it anyway.")
    for lb_id in ids:
        del state.load_balancers[lb_id]
    return {}


def describe_task_status(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    if not p.get("TaskId") and not p.get("DealName"):
        raise ApiError("MissingParameter",
                       "The request is missing a required parameter `TaskId` (or `DealName`).")
    task = state.tasks.get(p.get("TaskId") or "")
    if task is None and p.get("DealName"):
        task = next((t for t in state.tasks.values() if t.deal_name == p["DealName"]), None)
    if task is None:
        wanted = p.get("TaskId") or p.get("DealName")
        raise ApiError("InvalidParameter", f"The task {wanted} does not exist.")
    return {"Status": task.status, "LoadBalancerIds": task.result_lb_ids,
            "Message": task.message}


def describe_load_balancer_list_by_cert_id(call: Any, state: WorldState, p: dict[str, Any],
                                           ) -> dict[str, Any]:
    usage = state.cert_usage()
    cert_set = []
    for cert_id in dict.fromkeys(p["CertIds"]):
        lb_ids = dict.fromkeys(lb_id for lb_id, _, _ in usage.get(cert_id, []))
        lbs = [state.load_balancers[lb_id] for lb_id in lb_ids
               if state.load_balancers[lb_id].region == call.region]
        cert_set.append({"CertId": cert_id,
                         "LoadBalancers": [clb_views.load_balancer(lb) for lb in lbs]})
    return {"CertSet": cert_set}

