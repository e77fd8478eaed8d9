"""CLB layer-7 customized configurations: SetCustomizedConfigForLoadBalancer (ADD, UPDATE,
DELETE, BIND, UNBIND), AssociateCustomizedConfig / DisassociateCustomizedConfig (bind a
configuration to domains, "servers", of HTTP/HTTPS listeners), DescribeCustomizedConfigList and
DescribeCustomizedConfigAssociateList.

A configuration is nginx-style text, `directive value;` statements. The emulator accepts the
directives CLB documents for layer-7 customized configuration and checks the two TLS ones as
nginx would: `ssl_protocols` names TLS versions, `ssl_ciphers` is an OpenSSL cipher list that
selects at least one cipher. A domain carries at most one configuration; a configuration still
bound to a domain or a load balancer cannot be deleted. Rules of a bound domain created later
share its configuration (they are locations of the same server).
"""

from __future__ import annotations

import dataclasses
import re
import ssl
from typing import Any

from mtlsform.emulator.apierror import ApiError, missing
from mtlsform.emulator.clb_lookup import find_lb, l7_listener, rules_of_domain, writable_lb
from mtlsform.emulator.params import Int, List, Model, Str
from mtlsform.emulator.world import CustomizedConfig, Rule, WorldState
from mtlsform.emulator.worlddraft import shared_values

CONFIG_ID = r"pz-[a-z0-9]{8}"
CONFIG_TYPES = ("CLB", "SERVER", "LOCATION")
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
CONTENT_LIMIT = 10240
# Directives of CLB's layer-7 customized configuration (product doc 214/15171).
DIRECTIVES = frozenset({
    "ssl_protocols", "ssl_ciphers", "client_max_body_size", "client_header_timeout",
    "client_body_timeout", "keepalive_timeout", "keepalive_requests", "send_timeout",
    "proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout",
    "proxy_buffer_size", "proxy_buffers", "proxy_request_buffering", "proxy_buffering",
    "proxy_redirect", "proxy_set_header", "add_header", "more_set_headers",
    "large_client_header_buffers", "client_header_buffer_size", "client_body_buffer_size",
    "ssl_verify_depth", "real_ip_header", "set_real_ip_from", "http2_max_field_size",
    "http2_max_header_size",
})

_TAG = {"TagKey": Str(True, length=(1, 127)), "TagValue": Str(True, length=(0, 255))}
_BIND_ITEM = {"LoadBalancerId": Str(True, pattern=r"lb-[a-z0-9]{8}"),
              "ListenerId": Str(True, pattern=r"lbl-[a-z0-9]{8}"),
              "Domain": Str(True, length=(1, 120)),
              "LocationId": Str(pattern=r"loc-[a-z0-9]{8}")}
_FILTER = {"Name": Str(True), "Values": List(Str(), True, max_items=100)}

SET_CUSTOMIZED_CONFIG = {
    "OperationType": Str(True, choices=("ADD", "DELETE", "UPDATE", "BIND", "UNBIND")),
    "UconfigId": Str(pattern=CONFIG_ID),
    "ConfigContent": Str(length=(0, CONTENT_LIMIT)),
    "ConfigName": Str(length=(1, 200)),
    "LoadBalancerIds": List(Str(pattern=r"lb-[a-z0-9]{8}"), max_items=20),
    "Tags": List(Model(_TAG), max_items=20),
}
ASSOCIATE_CUSTOMIZED_CONFIG = {"UconfigId": Str(True, pattern=CONFIG_ID),
                               "BindList": List(Model(_BIND_ITEM), True, max_items=100)}
DISASSOCIATE_CUSTOMIZED_CONFIG = ASSOCIATE_CUSTOMIZED_CONFIG
DESCRIBE_CUSTOMIZED_CONFIG_LIST = {
    "ConfigType": Str(True, choices=CONFIG_TYPES),
    "Offset": Int(min=0),
    "Limit": Int(min=1, max=100),
    "ConfigName": Str(length=(0, 200)),
    "UconfigIds": List(Str(pattern=CONFIG_ID), max_items=100),
    "Filters": List(Model(_FILTER), max_items=10),
}
DESCRIBE_CUSTOMIZED_CONFIG_ASSOCIATE_LIST = {
    "UconfigId": Str(pattern=CONFIG_ID),
    "Offset": Int(min=0),
    "Limit": Int(min=1, max=100),
    "Domain": Str(length=(1, 120)),
}

_STATEMENT = re.compile(r"\s*([a-z0-9_]+)\s+([^;{}]*?)\s*;")


def parse_content(content: str, path: str = "ConfigContent") -> dict[str, str]:
    """The directives of a configuration text, checked; raises ApiError on a bad one."""
    directives: dict[str, str] = {}
    pos = 0
    text = content.replace("\r\n", "\n")
    while text[pos:].strip():
        match = _STATEMENT.match(text, pos)
        if match is None:
            raise ApiError("InvalidParameterValue",
                           f"`{path}` is not a list of `directive value;` statements near "
                           f"{text[pos:].strip()[:40]!r}.")
        name, value = match.group(1), match.group(2)
        if name not in DIRECTIVES:
            raise ApiError("InvalidParameterValue",
                           f"`{path}`: the directive `{name}` is not supported in a customized "
                           "configuration.")
        if name == "ssl_protocols":
            _check_protocols(value, path)
        if name == "ssl_ciphers":
            _check_ciphers(value, path)
        directives[name] = value
        pos = match.end()
    return directives


def _check_protocols(value: str, path: str) -> None:
    versions = value.split()
    bad = [v for v in versions if v not in TLS_VERSIONS]
    if not versions or bad:
        raise ApiError("InvalidParameterValue",
                       f"`{path}`: ssl_protocols takes {', '.join(TLS_VERSIONS)}; got "
                       f"{' '.join(bad) or 'nothing'}.")


def _check_ciphers(value: str, path: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.set_ciphers(value.strip("\"'"))
    except ssl.SSLError:
        raise ApiError("InvalidParameterValue",
                       f"`{path}`: ssl_ciphers {value!r} selects no cipher.") from None


def _find(call: Any, state: WorldState, config_id: str | None) -> CustomizedConfig:
    if not config_id:
        raise missing("UconfigId")
    config = state.configs.get(config_id)
    if config is None or config.region != call.region:
        raise ApiError("InvalidParameter", f"Customized config({config_id}) not found.")
    return config


def _bound_servers(state: WorldState, config_id: str) -> list[tuple[str, str, Rule]]:
    return [(lb.lb_id, lst.listener_id, rule)
            for lb in shared_values(state.load_balancers)
            for lst in shared_values(lb.listeners)
            for rule in shared_values(lst.rules) if rule.config_id == config_id]


def set_customized_config(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    operation = p["OperationType"]
    if operation == "ADD":
        for name in ("ConfigName", "ConfigContent"):
            if name not in p:
                raise missing(name)
        parse_content(p["ConfigContent"])
        config_id = call.new_id("pz-", state.configs)
        state.configs[config_id] = CustomizedConfig(
            config_id=config_id, region=call.region, config_type="CLB", name=p["ConfigName"],
            content=p["ConfigContent"], create_time=call.time, update_time=call.time)
        return {"ConfigId": config_id}
    config = _find(call, state, p.get("UconfigId"))
    if operation == "UPDATE":
        if "ConfigContent" not in p and "ConfigName" not in p:
            raise missing("ConfigContent")
        if "ConfigContent" in p:
            parse_content(p["ConfigContent"])
        state.configs[config.config_id] = dataclasses.replace(
            config, content=p.get("ConfigContent", config.content),
            name=p.get("ConfigName", config.name), update_time=call.time)
    elif operation == "DELETE":
        users = sorted({f"{lb}/{lst}/{rule.domain}"
                        for lb, lst, rule in _bound_servers(state, config.config_id)})
        users += config.lb_ids
        if users:
            raise ApiError("FailedOperation",
                           f"Customized config({config.config_id}) is still bound to "
                           f"{', '.join(users)}; unbind it first.")
        del state.configs[config.config_id]
    else:
        lb_ids = p.get("LoadBalancerIds")
        if not lb_ids:
            raise missing("LoadBalancerIds")
        for lb_id in lb_ids:
            writable_lb(call, state, lb_id)
        if operation == "BIND":
            kept = [*config.lb_ids, *[i for i in lb_ids if i not in config.lb_ids]]
        else:
            kept = [i for i in config.lb_ids if i not in lb_ids]
        state.configs[config.config_id] = dataclasses.replace(config, lb_ids=kept)
    return {"ConfigId": config.config_id}


def _servers(call: Any, state: WorldState,
             items: list[dict[str, Any]]) -> list[tuple[int, list[Rule]]]:
    """The rules of each bind item's domain, with the item's index (claiming each load
    balancer for the write)."""
    found = []
    seen: set[tuple[str, ...]] = set()
    for index, item in enumerate(items):
        lb = writable_lb(call, state, item["LoadBalancerId"])
        lst = l7_listener(lb, item["ListenerId"])
        rules = rules_of_domain(lst, item["Domain"])
        if not rules:
            raise ApiError("InvalidParameter",
                           f"`BindList.{index}.Domain` {item['Domain']} is not a domain of "
                           f"Listener({lst.listener_id}).")
        # Two names of one multi-domain rule's domain are that one domain, bound once.
        locations = tuple(sorted(rule.location_id for rule in rules))
        if locations not in seen:
            seen.add(locations)
            found.append((index, rules))
    return found


def associate_customized_config(call: Any, state: WorldState,
                                p: dict[str, Any]) -> dict[str, Any]:
    config = _find(call, state, p["UconfigId"])
    if not p["BindList"]:
        raise missing("BindList")
    for index, rules in _servers(call, state, p["BindList"]):
        other = next((r.config_id for r in rules
                      if r.config_id not in (None, config.config_id)), None)
        if other is not None:
            raise ApiError("InvalidParameter",
                           f"`BindList.{index}`: the domain is already bound to customized "
                           f"config({other}); disassociate it first.")
        for rule in rules:
            rule.config_id = config.config_id
    return {}


def disassociate_customized_config(call: Any, state: WorldState,
                                   p: dict[str, Any]) -> dict[str, Any]:
    config = _find(call, state, p["UconfigId"])
    if not p["BindList"]:
        raise missing("BindList")
    for index, rules in _servers(call, state, p["BindList"]):
        if not any(rule.config_id == config.config_id for rule in rules):
            raise ApiError("InvalidParameter",
                           f"`BindList.{index}`: the domain is not bound to customized "
                           f"config({config.config_id}).")
        for rule in rules:
            rule.config_id = None
    return {}


def _item(config: CustomizedConfig) -> dict[str, Any]:
    return {"UconfigId": config.config_id, "ConfigType": config.config_type,
            "ConfigName": config.name, "ConfigContent": config.content,
            "CreateTimestamp": config.create_time, "UpdateTimestamp": config.update_time}


def describe_customized_config_list(call: Any, state: WorldState,
                                     p: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in state.configs.values()
             if c.region == call.region and c.config_type == p["ConfigType"]]
    if p.get("UconfigIds"):
        found = [c for c in found if c.config_id in p["UconfigIds"]]
    if p.get("ConfigName"):
        found = [c for c in found if p["ConfigName"] in c.name]
    for flt in p.get("Filters", []):
        if flt["Name"] != "loadbalancer-id":
            raise ApiError("InvalidParameter.FormatError",
                           f"The filter `{flt['Name']}` is not supported; use loadbalancer-id.")
        lb_ids = set(flt["Values"])
        found = [c for c in found if lb_ids & set(c.lb_ids)
                 or any(lb in lb_ids for lb, _, _ in _bound_servers(state, c.config_id))]
    found.sort(key=lambda c: c.create_time)
    offset, limit = p.get("Offset", 0), p.get("Limit", 20)
    return {"ConfigList": [_item(c) for c in found[offset:offset + limit]],
            "TotalCount": len(found)}


def describe_customized_config_associate_list(call: Any, state: WorldState,
                                              p: dict[str, Any]) -> dict[str, Any]:
    """Bindings to domains (one per listener and domain) and to load balancers; of one
    configuration with `UconfigId`, else of every configuration of the region."""
    if p.get("UconfigId"):
        configs = [_find(call, state, p["UconfigId"])]
    else:
        configs = sorted((c for c in state.configs.values() if c.region == call.region),
                         key=lambda c: c.config_id)
    bound: list[dict[str, Any]] = []
    for config in configs:
        for lb_id in config.lb_ids:
            bound.append(_detail(config, lb_id, None, None, None))
        seen: set[tuple[str, str, str]] = set()
        for lb_id, listener_id, rule in _bound_servers(state, config.config_id):
            lst = find_lb(call, state, lb_id).listeners[listener_id]
            for domain in rule.domains or [rule.domain]:
                if (lb_id, listener_id, domain) in seen:
                    continue
                seen.add((lb_id, listener_id, domain))
                bound.append(_detail(config, lb_id, lst, domain, rule))
    if p.get("Domain"):
        bound = [b for b in bound if b["Domain"] == p["Domain"]]
    offset, limit = p.get("Offset", 0), p.get("Limit", 20)
    return {"BindList": bound[offset:offset + limit], "TotalCount": len(bound)}


def _detail(config: CustomizedConfig, lb_id: str, lst: Any, domain: str | None,
            rule: Rule | None) -> dict[str, Any]:
    return {"LoadBalancerId": lb_id, "ListenerId": lst.listener_id if lst else "",
            "Domain": domain or "", "LocationId": rule.location_id if rule else "",
            "ListenerName": lst.name if lst else "", "Protocol": lst.protocol if lst else "",
            "Vport": lst.port if lst else 0, "Url": None, "UconfigId": config.config_id}
