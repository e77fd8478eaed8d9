"""Redirects between forwarding rules: ManualRewrite, AutoRewrite, DescribeRewrite, DeleteRewrite.

A redirect goes from a rule of one layer-7 listener (the source, usually HTTP:80) to a rule of
another (the target, usually HTTPS:443); the source rule then answers every request with
`RewriteCode` (301, 302 or 307) and a `Location` on the target (the data plane,
`dataplane/redirect.py`). As the API reference says, a rule that already redirects cannot be
redirected elsewhere (`InvalidParameter.RewriteAlreadyExist`) until its redirect is deleted,
and the target of a redirect cannot itself redirect. A redirect has no "modify": a new code is
DeleteRewrite then ManualRewrite. AutoRewrite redirects every domain (or the `Domains` given) of
an HTTPS:443 listener from an HTTP:80 listener, creating that listener and its rules when they
do not exist (`BeAutoCreated`). Deleting either rule (or its listener) removes the redirect.
"""

from __future__ import annotations

from typing import Any

from mtlsform.emulator import clb_health
from mtlsform.emulator.apierror import ApiError, missing
from mtlsform.emulator.clb_lookup import find_lb, find_rule, l7_listener, writable_lb
from mtlsform.emulator.clb_params import LB_ID, LISTENER_ID, LOCATION_ID
from mtlsform.emulator.clb_views import rule_output
from mtlsform.emulator.params import Bool, Int, List, Model, Str
from mtlsform.emulator.world import Listener, LoadBalancer, Rewrite, Rule, WorldState
from mtlsform.emulator.worlddraft import shared_values

CODES = (301, 302, 307)
MANUAL_DEFAULT_CODE = 301  # [UNSURE] the reference names no default for ManualRewrite
AUTO_DEFAULT_CODE = 302  # AutoRewrite's documented default

_LB = Str(True, pattern=LB_ID)
_LISTENER = Str(True, pattern=LISTENER_ID)

REWRITE_LOCATION_MAP = {
    "SourceLocationId": Str(True, pattern=LOCATION_ID),
    "TargetLocationId": Str(True, pattern=LOCATION_ID),
    "RewriteCode": Int(),
    "TakeUrl": Bool(),
    "SourceDomain": Str(length=(1, 120)),
}
_REWRITE_PAIR = {
    "LoadBalancerId": _LB,
    "SourceListenerId": _LISTENER,
    "TargetListenerId": _LISTENER,
    "RewriteInfos": List(Model(REWRITE_LOCATION_MAP), True, max_items=50),
}
MANUAL_REWRITE = dict(_REWRITE_PAIR)
DELETE_REWRITE = dict(_REWRITE_PAIR)
AUTO_REWRITE = {
    "LoadBalancerId": _LB,
    "ListenerId": _LISTENER,
    "Domains": List(Str(length=(1, 120)), max_items=50),
    "RewriteCodes": List(Int(), max_items=50),
    "TakeUrls": List(Bool(), max_items=50),
}
DESCRIBE_REWRITE = {
    "LoadBalancerId": _LB,
    "SourceListenerIds": List(Str(pattern=LISTENER_ID), max_items=100),
    "SourceLocationIds": List(Str(pattern=LOCATION_ID), max_items=100),
}


def _code(value: int | None, default: int, path: str) -> int:
    if value is None:
        return default
    if value not in CODES:
        raise ApiError("InvalidParameterValue",
                       f"`{path}` must be one of 301, 302, 307; got {value}.")
    return value


def _targeted(lb: LoadBalancer) -> set[str]:
    """The location IDs some redirect of this load balancer points at."""
    return {rule.rewrite.target_location_id for lst in lb.listeners.values()
            for rule in lst.rules.values() if rule.rewrite is not None}


def _link(lb: LoadBalancer, source: Rule, target_listener: Listener, target: Rule,
          rewrite: Rewrite, path: str) -> None:
    if source.rewrite is not None:
        raise ApiError("InvalidParameter.RewriteAlreadyExist",
                       f"Rule({source.location_id}) already redirects to "
                       f"Rule({source.rewrite.target_location_id}); delete that redirect first "
                       f"(`{path}`).")
    if target.rewrite is not None:
        raise ApiError("InvalidParameter.RewriteAlreadyExist",
                       f"Rule({target.location_id}) redirects itself, so it cannot be the target "
                       f"of a redirect (`{path}`).")
    if source.location_id in _targeted(lb):
        raise ApiError("InvalidParameter.RewriteAlreadyExist",
                       f"Rule({source.location_id}) is the target of a redirect, so it cannot "
                       f"redirect (`{path}`).")
    source.rewrite = rewrite


def _pair(call: Any, state: WorldState, p: dict[str, Any],
          write: bool) -> tuple[LoadBalancer, Listener, Listener]:
    lb = (writable_lb if write else find_lb)(call, state, p["LoadBalancerId"])
    source = l7_listener(lb, p["SourceListenerId"])
    target = l7_listener(lb, p["TargetListenerId"])
    if source.listener_id == target.listener_id:
        raise ApiError("InvalidParameterValue",
                       "`SourceListenerId` and `TargetListenerId` must be different listeners.")
    return lb, source, target


def manual_rewrite(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb, source_lst, target_lst = _pair(call, state, p, write=True)
    if not p["RewriteInfos"]:
        raise missing("RewriteInfos")
    for index, info in enumerate(p["RewriteInfos"]):
        path = f"RewriteInfos.{index}"
        source = find_rule(source_lst, info["SourceLocationId"])
        target = find_rule(target_lst, info["TargetLocationId"])
        if "RewriteCode" in info:
            for needed in ("TakeUrl", "SourceDomain"):
                if needed not in info:
                    raise missing(f"{path}.{needed}")
            if info["SourceDomain"] not in (source.domains or [source.domain]):
                raise ApiError("InvalidParameterValue",
                               f"`{path}.SourceDomain` {info['SourceDomain']!r} is not the "
                               f"domain of Rule({source.location_id}) ({source.domain}).")
        code = _code(info.get("RewriteCode"), MANUAL_DEFAULT_CODE, f"{path}.RewriteCode")
        _link(lb, source, target_lst, target,
              Rewrite(target_lst.listener_id, target.location_id, code,
                      bool(info.get("TakeUrl", False)), "Manual"), path)
    return {}


def _http80(call: Any, state: WorldState, lb: LoadBalancer) -> Listener:
    for lst in lb.listeners.values():
        if lst.port == 80:
            if lst.protocol != "HTTP":
                raise ApiError("InvalidParameterValue",
                               f"Port 80 of LoadBalancer({lb.lb_id}) is a {lst.protocol} "
                               "listener; AutoRewrite needs it free or HTTP.")
            return lst
    taken = {lid for lb_ in shared_values(state.load_balancers) for lid in lb_.listeners}
    listener_id = call.new_id("lbl-", taken)
    lst = Listener(listener_id=listener_id, protocol="HTTP", port=80, name="auto-rewrite",
                   create_time=call.time, keepalive_enable=0)
    lb.listeners[listener_id] = lst
    return lst


def auto_rewrite(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    https = l7_listener(lb, p["ListenerId"])
    if (https.protocol, https.port) != ("HTTPS", 443):
        raise ApiError("InvalidParameterValue",
                       f"Listener({https.listener_id}) is {https.protocol}:{https.port}; "
                       "AutoRewrite redirects to an HTTPS:443 listener.")
    domains = list(p.get("Domains") or dict.fromkeys(r.domain for r in https.rules.values()))
    if not domains:
        raise ApiError("InvalidParameterValue",
                       f"Listener({https.listener_id}) has no domain to redirect to.")
    codes, take_urls = p.get("RewriteCodes"), p.get("TakeUrls")
    for name, values in (("RewriteCodes", codes), ("TakeUrls", take_urls)):
        if values is not None and len(values) != len(domains):
            raise ApiError("InvalidParameterValue",
                           f"`{name}` must have one entry per domain ({len(domains)}).")
    http = _http80(call, state, lb)
    taken = {loc for lb_ in shared_values(state.load_balancers)
             for lst_ in shared_values(lb_.listeners) for loc in lst_.rules}
    for index, domain in enumerate(domains):
        targets = [r for r in https.rules.values() if domain in (r.domains or [r.domain])]
        if not targets:
            raise ApiError("InvalidParameter.LocationNotFound",
                           f"Listener({https.listener_id}) has no rule for domain {domain}.")
        code = _code(codes[index] if codes else None, AUTO_DEFAULT_CODE,
                     f"RewriteCodes.{index}")
        take_url = bool(take_urls[index]) if take_urls else False
        for target in targets:
            source = next((r for r in http.rules.values()
                           if r.domain == domain and r.url == target.url), None)
            if source is None:
                location_id = call.new_id("loc-", taken)
                taken.add(location_id)
                source = Rule(location_id=location_id, domain=domain, url=target.url,
                              health_check=clb_health.rule_default("HTTP", "HTTP"),
                              create_time=call.time, be_auto_created=True,
                              default_server=not http.rules)
                http.rules[location_id] = source
            _link(lb, source, https, target,
                  Rewrite(https.listener_id, target.location_id, code, take_url, "Auto"),
                  f"Domains.{index}")
    return {}


def describe_rewrite(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = find_lb(call, state, p["LoadBalancerId"])
    listeners = p.get("SourceListenerIds")
    locations = p.get("SourceLocationIds")
    found = []
    for lst in lb.listeners.values():
        if listeners and lst.listener_id not in listeners:
            continue
        for rule in lst.rules.values():
            if rule.rewrite is None or (locations and rule.location_id not in locations):
                continue
            found.append(rule_output(rule, lst.listener_id))
    return {"RewriteSet": found}


def delete_rewrite(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    _, source_lst, target_lst = _pair(call, state, p, write=True)
    if not p["RewriteInfos"]:
        raise missing("RewriteInfos")
    doomed = []
    for info in p["RewriteInfos"]:
        source = source_lst.rules.get(info["SourceLocationId"])
        rewrite = source.rewrite if source is not None else None
        if source is None or rewrite is None or (
                rewrite.target_listener_id, rewrite.target_location_id) != (
                target_lst.listener_id, info["TargetLocationId"]):
            raise ApiError("InvalidParameter.SomeRewriteNotFound",
                           f"There is no redirect from Rule({info['SourceLocationId']}) to "
                           f"Rule({info['TargetLocationId']}) of "
                           f"Listener({target_lst.listener_id}).")
        doomed.append(source)
    for source in doomed:
        source.rewrite = None
    return {}


def forget_removed(lb: LoadBalancer) -> None:
    """Drops the redirects whose target rule is gone (after DeleteRule or DeleteListener)."""
    present = {(lst.listener_id, loc) for lst in lb.listeners.values() for loc in lst.rules}
    for lst in lb.listeners.values():
        for rule in lst.rules.values():
            rw = rule.rewrite
            if rw is not None and (rw.target_listener_id, rw.target_location_id) not in present:
                rule.rewrite = None
