"""CLB targets (backends): RegisterTargets, DeregisterTargets, ModifyTargetWeight,
DescribeTargets, DescribeTargetHealth.

L7 targets bind to a rule (LocationId, or Domain + Url); L4 targets to the listener. A target is a
CVM instance (which must exist) or an ENI IP, plus a port; at most 20 per call and 100 per rule.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from mtlsform.emulator import clb_views
from mtlsform.emulator.apierror import ApiError
from mtlsform.emulator.clb_lookup import find_lb, find_listener, rule_for, writable_lb
from mtlsform.emulator.world import HealthCheck, Listener, Target, WorldState

TARGETS_PER_RULE = 100
TARGET_FILTERS = ("location-id", "private-ip-address", "tag")


def _bucket(call: Any, state: WorldState, p: dict[str, Any]) -> tuple[Listener, list[Target]]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    lst = find_listener(lb, p["ListenerId"])
    if lst.is_l7:
        return lst, rule_for(lst, p).targets
    return lst, lst.targets


def _identity(state: WorldState, t: dict[str, Any], path: str) -> tuple[str, str | None, str]:
    """(kind, instance_id, ip) of a Target parameter."""
    if "InstanceId" in t and "EniIp" in t:
        raise ApiError("InvalidParameter", f"Give `{path}.InstanceId` or `{path}.EniIp`, not both.")
    if "InstanceId" in t:
        instance = state.instances.get(t["InstanceId"])
        if instance is None:
            raise ApiError("InvalidParameter",
                           f"`{path}.InstanceId`: the instance {t['InstanceId']} does not exist.")
        return "CVM", instance.instance_id, instance.private_ip
    if "EniIp" in t:
        try:
            ip = str(ipaddress.ip_address(t["EniIp"]))
        except ValueError:
            raise ApiError("InvalidParameterValue",
                           f"`{path}.EniIp` {t['EniIp']!r} is not an IP address.") from None
        return "ENI", None, ip
    raise ApiError("MissingParameter",
                   f"The request is missing a required parameter `{path}.InstanceId` (or "
                   f"`{path}.EniIp`).")


def _find(bucket: list[Target], kind: str, instance_id: str | None, ip: str, port: int,
          ) -> Target | None:
    for target in bucket:
        same = target.instance_id == instance_id if kind == "CVM" else target.ip == ip
        if same and target.port == port:
            return target
    return None


Given = tuple[str, str | None, str, dict[str, Any]]  # (kind, instance ID, IP, the request's)


def _given(state: WorldState, p: dict[str, Any]) -> list[Given]:
    given, seen = [], set()
    for index, t in enumerate(p["Targets"]):
        kind, instance_id, ip = _identity(state, t, f"Targets.{index}")
        key = (instance_id or ip, t["Port"])
        if key in seen:
            raise ApiError("InvalidParameterValue.Duplicate",
                           f"`Targets` names {key[0]}:{key[1]} twice.")
        seen.add(key)
        given.append((kind, instance_id, ip, t))
    if not given:
        raise ApiError("MissingParameter", "The request is missing a required parameter `Targets`.")
    return given


def register_targets(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    _, bucket = _bucket(call, state, p)
    given = _given(state, p)
    for kind, instance_id, ip, t in given:
        if _find(bucket, kind, instance_id, ip, t["Port"]) is not None:
            raise ApiError("InvalidParameterValue.Duplicate",
                           f"The target {instance_id or ip}:{t['Port']} is already bound.")
    if len(bucket) + len(given) > TARGETS_PER_RULE:
        raise ApiError("LimitExceeded",
                       f"At most {TARGETS_PER_RULE} targets can be bound to one rule "
                       f"({len(bucket)} are).")
    for kind, instance_id, ip, t in given:
        bucket.append(Target(kind=kind, instance_id=instance_id, ip=ip, port=t["Port"],
                             weight=t.get("Weight", 10), tag=t.get("Tag", ""),
                             registered_time=call.time))
    return {}


def _bound(bucket: list[Target], given: list[Given]) -> list[tuple[Target, dict[str, Any]]]:
    found = []
    for kind, instance_id, ip, t in given:
        target = _find(bucket, kind, instance_id, ip, t["Port"])
        if target is None:
            raise ApiError("InvalidParameter",
                           f"The target {instance_id or ip}:{t['Port']} is not bound here.")
        found.append((target, t))
    return found


def deregister_targets(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    _, bucket = _bucket(call, state, p)
    for target, _ in _bound(bucket, _given(state, p)):
        bucket.remove(target)
    return {}


def modify_target_weight(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    _, bucket = _bucket(call, state, p)
    for target, t in _bound(bucket, _given(state, p)):
        target.weight = t.get("Weight", p.get("Weight", 10))
    return {}


def _target_filters(p: dict[str, Any]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for flt in p.get("Filters", []):
        if flt["Name"] not in TARGET_FILTERS:
            raise ApiError("InvalidParameterValue.InvalidFilter",
                           f"The filter `{flt['Name']}` is not supported; use "
                           f"{', '.join(TARGET_FILTERS)}.")
        filters.setdefault(flt["Name"], []).extend(flt["Values"])
    return filters


def describe_targets(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = find_lb(call, state, p["LoadBalancerId"])
    filters = _target_filters(p)

    def keep(targets: list[Target]) -> list[dict[str, Any]]:
        chosen = [t for t in targets
                  if ("private-ip-address" not in filters or t.ip in filters["private-ip-address"])
                  and ("tag" not in filters or t.tag in filters["tag"])]
        return [clb_views.backend(t, state.instances) for t in chosen]

    listeners = []
    for lst in lb.listeners.values():
        if p.get("ListenerIds") and lst.listener_id not in p["ListenerIds"]:
            continue
        if ("Protocol" in p and lst.protocol != p["Protocol"]) or \
                ("Port" in p and lst.port != p["Port"]):
            continue
        rules = None
        if lst.is_l7:
            rules = [{"LocationId": rule.location_id, "Domain": rule.domain, "Url": rule.url,
                      "Targets": keep(rule.targets), "FunctionTargets": None}
                     for rule in lst.rules.values()
                     if "location-id" not in filters or rule.location_id in filters["location-id"]]
        listeners.append({"ListenerId": lst.listener_id, "Protocol": lst.protocol,
                          "Port": lst.port, "Rules": rules,
                          "Targets": None if lst.is_l7 else keep(lst.targets), "EndPort": 0})
    return {"Listeners": listeners}


def describe_target_health(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    result = []
    for lb_id in dict.fromkeys(p["LoadBalancerIds"]):
        lb = find_lb(call, state, lb_id)
        listeners = []
        for lst in lb.listeners.values():
            if p.get("ListenerIds") and lst.listener_id not in p["ListenerIds"]:
                continue
            rules: list[tuple[str, str | None, str | None, list[Target], HealthCheck | None]]
            if lst.is_l7:
                rules = [(r.location_id, r.domain, r.url, r.targets, r.health_check)
                         for r in lst.rules.values()]
            else:
                rules = [(lst.listener_id, None, None, lst.targets, lst.health_check)]
            if p.get("LocationIds"):
                rules = [rule for rule in rules if rule[0] in p["LocationIds"]]
            listeners.append({
                "ListenerId": lst.listener_id, "ListenerName": lst.name,
                "Protocol": lst.protocol, "Port": lst.port,
                "Rules": [{"LocationId": key, "Domain": domain, "Url": url, "RuleId": None,
                           "Targets": [_health(call, key, t, check) for t in targets]}
                          for key, domain, url, targets, check in rules]})
        result.append({"LoadBalancerId": lb.lb_id, "LoadBalancerName": lb.name,
                       "Listeners": listeners})
    return {"LoadBalancers": result}


def _health(call: Any, rule_key: str, target: Target, check: Any) -> dict[str, Any]:
    if check is not None and not check.health_switch:
        detail = "Close"
    else:
        detail = call.health(rule_key, target.ip, target.port)
    return {"IP": target.ip, "Port": target.port, "HealthStatus": detail == "Alive",
            "TargetId": target.instance_id or target.ip, "HealthStatusDetail": detail,
            "HealthStatusDetial": detail, "TargetGroupId": None, "Weight": target.weight}
