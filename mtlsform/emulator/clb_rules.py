"""CLB forwarding rules of HTTP/HTTPS listeners: CreateRule, ModifyRule, ModifyDomainAttributes,
DeleteRule.

A rule is a domain (or several) plus a URL. Domain-level settings — the SNI certificate, HTTP/2,
QUIC and "default server" — are kept equal on every rule of the domain. One domain per listener
is the default server; the first domain becomes it, and deleting it hands the role on.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mtlsform.emulator import clb_certs, clb_health, clb_rewrite
from mtlsform.emulator.apierror import ApiError, location_not_found, missing
from mtlsform.emulator.clb_lookup import find_rule, l7_listener, rules_of_domain, writable_lb
from mtlsform.emulator.world import CertBinding, Listener, Rule, WorldState
from mtlsform.emulator.worlddraft import shared_values

RULE_QUOTA = 50
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
DOMAIN_RE = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*(?:\.\*)?|\*\.{_LABEL}|~.+")


def _check_domain(domain: str, path: str) -> None:
    if not DOMAIN_RE.fullmatch(domain):
        raise ApiError("InvalidParameterValue",
                       f"`{path}` {domain!r} is not a valid domain: letters, digits, `-` and `.`, "
                       "a `*` only first or last, or a regular expression starting with `~`.")


def _check_url(url: str, path: str) -> None:
    if not url.startswith(("/", "~", "=")):
        raise ApiError("InvalidParameterValue",
                       f"`{path}` {url!r} must start with `/` (or `~`/`=` for regular and exact "
                       "matches).")


def _check_session(value: int | None, path: str) -> None:
    if value is not None and 0 < value < 30:
        raise ApiError("InvalidParameterValue.Range",
                       f"`{path}` must be 0 (off) or 30 to 86400 seconds; got {value}.")


def _domains(rule: Rule) -> list[str]:
    return rule.domains or [rule.domain]


def _set_default(lst: Listener, domain: str) -> None:
    for rule in lst.rules.values():
        rule.default_server = domain in _domains(rule)


def _same_binding(a: CertBinding | None, b: CertBinding | None) -> bool:
    return (a.cert_ids(), a.ssl_mode) == (b.cert_ids(), b.ssl_mode) if a and b else a is b


def create_rule(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    lst = l7_listener(lb, p["ListenerId"])
    if not p["Rules"]:
        raise missing("Rules")
    if len(lst.rules) + len(p["Rules"]) > RULE_QUOTA:
        raise ApiError("LimitExceeded",
                       f"Listener({lst.listener_id}) would have more than {RULE_QUOTA} rules "
                       f"({len(lst.rules)} exist).")
    taken = {loc for lb_ in shared_values(state.load_balancers)
             for lst_ in shared_values(lb_.listeners) for loc in lst_.rules}
    ids = []
    for index, r in enumerate(p["Rules"]):
        rule = _new_rule(call, lst, r, f"Rules.{index}", taken, state)
        taken.add(rule.location_id)
        lst.rules[rule.location_id] = rule
        if rule.default_server or not any(x.default_server for x in lst.rules.values()):
            _set_default(lst, rule.domain)
        ids.append(rule.location_id)
    return {"LocationIds": ids}


def _new_rule(call: Any, lst: Listener, r: dict[str, Any], path: str, taken: set[str],
              state: WorldState) -> Rule:
    if "Domain" in r and "Domains" in r:
        raise ApiError("InvalidParameter", f"Give `{path}.Domain` or `{path}.Domains`, not both.")
    domains = r.get("Domains") or ([r["Domain"]] if "Domain" in r else [])
    if not domains:
        raise missing(f"{path}.Domain")
    for number, domain in enumerate(domains):
        _check_domain(domain, f"{path}.Domains.{number}" if "Domains" in r else f"{path}.Domain")
    url = r["Url"]
    _check_url(url, f"{path}.Url")
    for domain in domains:
        if any(rule.url == url for rule in rules_of_domain(lst, domain)):
            raise ApiError("InvalidParameterValue.Duplicate",
                           f"The rule {domain}{url} already exists on Listener({lst.listener_id}).")
    forward = r.get("ForwardType", "HTTP")
    if lst.protocol == "HTTP" and forward in ("HTTPS", "GRPCS"):
        raise ApiError("InvalidParameterValue",
                       f"`{path}.ForwardType` {forward} needs an HTTPS listener.")
    _check_session(r.get("SessionExpireTime"), f"{path}.SessionExpireTime")
    for flag in ("Http2", "Quic"):
        if r.get(flag) and lst.protocol != "HTTPS":
            raise ApiError("InvalidParameterValue",
                           f"`{path}.{flag}` can only be enabled for HTTPS domains.")
    health = clb_health.updated(clb_health.rule_default(lst.protocol, forward),
                                r.get("HealthCheck"), lst.protocol, f"{path}.HealthCheck")
    same_domain = [rule for domain in domains for rule in rules_of_domain(lst, domain)]
    return Rule(
        location_id=call.new_id("loc-", taken), domain=domains[0], url=url,
        domains=list(r["Domains"]) if "Domains" in r else [],
        scheduler=r.get("Scheduler", "WRR"), forward_type=forward,
        session_expire_time=r.get("SessionExpireTime", 0), health_check=health,
        certificate=_rule_certificate(call, state, lst, r, path, domains, same_domain),
        # the default server is a domain's: a rule of the default domain is one too
        default_server=bool(r.get("DefaultServer")) or any(x.default_server for x in same_domain),
        http2=r.get("Http2", any(rule.http2 for rule in same_domain)),
        quic=r.get("Quic", any(rule.quic for rule in same_domain)),
        cookie_name=r.get("CookieName"), target_type=r.get("TargetType", "NODE"),
        create_time=call.time,
        config_id=next((rule.config_id for rule in same_domain if rule.config_id), None))


def _rule_certificate(call: Any, state: WorldState, lst: Listener, r: dict[str, Any], path: str,
                      domains: list[str], same_domain: list[Rule]) -> CertBinding | None:
    given = "Certificate" in r or "MultiCertInfo" in r
    if not lst.sni_switch:
        if given:
            raise ApiError("InvalidParameter",
                           f"`{path}.Certificate`: the listener has SNI off, so its certificate "
                           "is set on the listener (ModifyListener), not per rule.")
        return None
    inherited = next((rule.certificate for rule in same_domain if rule.certificate), None)
    binding = clb_certs.binding(call, state, r.get("Certificate"), r.get("MultiCertInfo"),
                                f"{path}.")
    if binding is None:
        if inherited is None:
            raise ApiError("MissingParameter",
                           f"The listener has SNI on: domain {domains[0]} needs a certificate "
                           f"(`{path}.Certificate`).")
        return copy.deepcopy(inherited)
    if inherited is not None and not _same_binding(binding, inherited):
        raise ApiError("InvalidParameter",
                       f"Domain {domains[0]} already uses certificate {inherited.cert_id}; change "
                       "a domain's certificate with ModifyDomainAttributes.")
    return binding


def modify_rule(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    lst = l7_listener(lb, p["ListenerId"])
    rule = find_rule(lst, p["LocationId"])
    if "Url" in p and p["Url"] != rule.url:
        _check_url(p["Url"], "Url")
        for domain in _domains(rule):
            if any(other.url == p["Url"] for other in rules_of_domain(lst, domain)):
                raise ApiError("InvalidParameterValue.Duplicate",
                               f"The rule {domain}{p['Url']} already exists.")
        rule.url = p["Url"]
    _check_session(p.get("SessionExpireTime"), "SessionExpireTime")
    if "HealthCheck" in p:
        rule.health_check = clb_health.updated(rule.health_check, p["HealthCheck"], lst.protocol,
                                               "HealthCheck")
    if "Scheduler" in p:
        rule.scheduler = p["Scheduler"]
    if "SessionExpireTime" in p:
        rule.session_expire_time = p["SessionExpireTime"]
    if "ForwardType" in p and lst.protocol == "HTTPS":  # only effective on HTTPS listeners
        rule.forward_type = p["ForwardType"]
    if "CookieName" in p:
        rule.cookie_name = p["CookieName"]
    return {}


def modify_domain_attributes(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    lst = l7_listener(lb, p["ListenerId"])
    rules = rules_of_domain(lst, p["Domain"])
    if not rules:
        raise location_not_found(p["Domain"])
    if "NewDomain" in p and "NewDomains" in p:
        raise ApiError("InvalidParameter", "Give `NewDomain` or `NewDomains`, not both.")
    for flag in ("Http2", "Quic"):
        if p.get(flag) and lst.protocol != "HTTPS":
            raise ApiError("InvalidParameterValue", f"`{flag}` can only be enabled for HTTPS.")
    binding = None
    if "Certificate" in p or "MultiCertInfo" in p:
        if not lst.sni_switch:
            raise ApiError("InvalidParameter",
                           "A certificate per domain only applies to HTTPS listeners with SNI "
                           "on; this listener's certificate is set with ModifyListener.")
        binding = clb_certs.binding(call, state, p.get("Certificate"), p.get("MultiCertInfo"), "")
    renamed = [p["NewDomain"]] if "NewDomain" in p else p.get("NewDomains")
    if renamed is not None:
        _rename(lst, rules, p["Domain"], renamed, "NewDomains" in p)
    for rule in rules:
        if binding is not None:
            rule.certificate = copy.deepcopy(binding)
        if "Http2" in p:
            rule.http2 = p["Http2"]
        if "Quic" in p:
            rule.quic = p["Quic"]
    domain = rules[0].domain
    if p.get("DefaultServer"):
        _set_default(lst, domain)
    elif p.get("DefaultServer") is False and rules[0].default_server:
        others = [rule for rule in lst.rules.values() if rule not in rules]
        if others and "NewDefaultServerDomain" not in p:
            raise ApiError("InvalidParameter",
                           "The listener needs a default domain: give `NewDefaultServerDomain` "
                           "to stop this one being the default.")
        for rule in rules:
            rule.default_server = False
    if "NewDefaultServerDomain" in p:
        if not rules_of_domain(lst, p["NewDefaultServerDomain"]):
            raise location_not_found(p["NewDefaultServerDomain"])
        _set_default(lst, p["NewDefaultServerDomain"])
    return {}


def _rename(lst: Listener, rules: list[Rule], old: str, new: list[str], whole: bool) -> None:
    for number, domain in enumerate(new):
        _check_domain(domain, f"NewDomains.{number}" if whole else "NewDomain")
    for rule in rules:
        domains = list(new) if whole else [new[0] if d == old else d for d in _domains(rule)]
        for domain in domains:
            clash = [other for other in rules_of_domain(lst, domain)
                     if other not in rules and other.url == rule.url]
            if clash:
                raise ApiError("InvalidParameterValue.Duplicate",
                               f"The rule {domain}{rule.url} already exists.")
        rule.domain = domains[0]
        rule.domains = domains if (rule.domains or whole) else []


def delete_rule(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    lst = l7_listener(lb, p["ListenerId"])
    if p.get("LocationIds"):
        doomed = [find_rule(lst, loc).location_id for loc in dict.fromkeys(p["LocationIds"])]
    elif "Domain" in p or "Url" in p:
        if "Domain" not in p or "Url" not in p:
            raise missing("Url" if "Domain" in p else "Domain")
        match = [r for r in rules_of_domain(lst, p["Domain"]) if r.url == p["Url"]]
        if not match:
            raise location_not_found(f"{p['Domain']}{p['Url']}")
        doomed = [match[0].location_id]
    else:
        raise missing("LocationIds")
    had_default = any(lst.rules[loc].default_server for loc in doomed)
    for loc in doomed:
        del lst.rules[loc]
    clb_rewrite.forget_removed(lb)
    if "NewDefaultServerDomain" in p:
        if not rules_of_domain(lst, p["NewDefaultServerDomain"]):
            raise location_not_found(p["NewDefaultServerDomain"])
        _set_default(lst, p["NewDefaultServerDomain"])
    elif had_default and lst.rules and not any(r.default_server for r in lst.rules.values()):
        _set_default(lst, next(iter(lst.rules.values())).domain)
    return {}
