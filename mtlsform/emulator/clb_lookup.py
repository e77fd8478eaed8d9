"""Finding CLB objects for a call: load balancers of the call's region, listeners, rules."""

from __future__ import annotations

from typing import Any

from mtlsform.emulator.apierror import (
    ApiError,
    lb_not_found,
    listener_not_found,
    location_not_found,
)
from mtlsform.emulator.world import Listener, LoadBalancer, Rule, WorldState

L7_ONLY = "This interface only support HTTP/HTTPS listener."


def find_lb(call: Any, state: WorldState, lb_id: str) -> LoadBalancer:
    lb = state.load_balancers.get(lb_id)
    if lb is None or lb.region != call.region:
        raise lb_not_found(lb_id)
    return lb


def writable_lb(call: Any, state: WorldState, lb_id: str) -> LoadBalancer:
    """The load balancer, claimed for this write (refused while another task runs on it)."""
    lb = find_lb(call, state, lb_id)
    call.lock(state, lb_id)
    return lb


def find_listener(lb: LoadBalancer, listener_id: str) -> Listener:
    lst = lb.listeners.get(listener_id)
    if lst is None:
        raise listener_not_found(listener_id)
    return lst


def l7_listener(lb: LoadBalancer, listener_id: str) -> Listener:
    lst = find_listener(lb, listener_id)
    if not lst.is_l7:
        raise ApiError("InvalidParameterValue", L7_ONLY)
    return lst


def find_rule(lst: Listener, location_id: str) -> Rule:
    rule = lst.rules.get(location_id)
    if rule is None:
        raise location_not_found(location_id)
    return rule


def rules_of_domain(lst: Listener, domain: str) -> list[Rule]:
    """The rules serving a domain (a multi-domain rule counts for each of its domains)."""
    return [rule for rule in lst.rules.values() if domain in (rule.domains or [rule.domain])]


def rule_for(lst: Listener, p: dict[str, Any]) -> Rule:
    """The rule a target call names: LocationId, or Domain + Url (LocationId wins)."""
    if p.get("LocationId"):
        return find_rule(lst, p["LocationId"])
    domain, url = p.get("Domain"), p.get("Url")
    if not domain or not url:
        raise ApiError("MissingParameter",
                       "The request is missing a required parameter `LocationId` (or `Domain` "
                       "and `Url`) for a rule of an HTTP/HTTPS listener.")
    for rule in rules_of_domain(lst, domain):
        if rule.url == url:
            return rule
    raise location_not_found(f"{domain}{url}")
