"""CLB listeners: CreateListener, DescribeListeners, ModifyListener, DeleteListener.

Port classes: TCP, TCP_SSL, HTTP and HTTPS share one port space, UDP and QUIC another; a port is
used at most once per class on a load balancer. Scheduler, SessionExpireTime and HealthCheck
are listener settings for L4 only (rules carry them for HTTP/HTTPS). The certificate sits on the
listener for TCP_SSL, QUIC and HTTPS without SNI, and per domain when SNI is on; SNI can be
switched on later but never off.
"""

from __future__ import annotations

import copy
from typing import Any

from mtlsform.emulator import clb_certs, clb_health, clb_rewrite, clb_views
from mtlsform.emulator.apierror import ApiError, missing
from mtlsform.emulator.clb_lookup import find_lb, find_listener, writable_lb
from mtlsform.emulator.world import L4_PROTOCOLS, Listener, LoadBalancer, WorldState
from mtlsform.emulator.worlddraft import shared_values

LISTENER_QUOTA = 50
TCP_CLASS = ("TCP", "TCP_SSL", "HTTP", "HTTPS")
CERT_PROTOCOLS = ("HTTPS", "TCP_SSL", "QUIC")


def port_owner(lb: LoadBalancer, protocol: str, port: int) -> Listener | None:
    """The listener already using `port` in the same port class, if any."""
    tcp = protocol in TCP_CLASS
    for lst in shared_values(lb.listeners):  # reads only: copies nothing
        if lst.port == port and (lst.protocol in TCP_CLASS) == tcp:
            owner: Listener = lst
            return owner
    return None


def _session_expire(value: int | None, protocol: str, path: str) -> None:
    if value is None:
        return
    if value and protocol not in ("TCP", "UDP"):
        raise ApiError("InvalidParameterValue",
                       f"`{path}` only applies to TCP/UDP listeners; HTTP/HTTPS set it per rule.")
    if 0 < value < 30:
        raise ApiError("InvalidParameterValue.Range",
                       f"`{path}` must be 0 (off) or 30 to 3600 seconds; got {value}.")


def _l4_only(p: dict[str, Any], protocol: str) -> None:
    if protocol in L4_PROTOCOLS:
        return
    if "HealthCheck" in p:
        raise ApiError("InvalidParameterValue",
                       "`HealthCheck` only applies to TCP/UDP/TCP_SSL/QUIC listeners; "
                       "HTTP/HTTPS listeners set health checks per rule.")
    if "Scheduler" in p:
        raise ApiError("InvalidParameterValue",
                       "`Scheduler` only applies to TCP/UDP/TCP_SSL/QUIC listeners; "
                       "HTTP/HTTPS listeners set the scheduler per rule.")


def _all_listener_ids(state: WorldState) -> set[str]:
    return {lid for lb in shared_values(state.load_balancers) for lid in lb.listeners}


def create_listener(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    protocol, ports = p["Protocol"], p["Ports"]
    if not ports:
        raise missing("Ports")
    if len(set(ports)) != len(ports):
        raise ApiError("InvalidParameterValue.Duplicate", "`Ports` holds the same port twice.")
    names = p.get("ListenerNames")
    if names is not None and len(names) != len(ports):
        raise ApiError("InvalidParameterValue",
                       "`ListenerNames` must name each of `Ports`, in the same order.")
    if "EndPort" in p or "FullEndPorts" in p:
        raise ApiError("UnsupportedOperation",
                       "Port-range listeners are an allow-listed feature this account lacks.")
    if len(lb.listeners) + len(ports) > LISTENER_QUOTA:
        raise ApiError("LimitExceeded",
                       f"LoadBalancer({lb.lb_id}) would have more than {LISTENER_QUOTA} "
                       f"listeners ({len(lb.listeners)} exist).")
    for port in ports:
        owner = port_owner(lb, protocol, port)
        if owner is not None:
            raise ApiError("InvalidParameter.PortCheckFailed",
                           f"Port {port} is already used by listener {owner.listener_id} "
                           f"({owner.protocol}) of LoadBalancer({lb.lb_id}).")
    _l4_only(p, protocol)
    if p.get("Scheduler") == "IP_HASH":
        raise ApiError("InvalidParameterValue", "Scheduler should be WRR or LEAST_CONN")
    _session_expire(p.get("SessionExpireTime"), protocol, "SessionExpireTime")
    sni = p.get("SniSwitch", 0)
    if sni and protocol != "HTTPS":
        raise ApiError("InvalidParameterValue", "`SniSwitch` only applies to HTTPS listeners.")
    given = "Certificate" in p or "MultiCertInfo" in p
    if protocol not in CERT_PROTOCOLS and given:
        raise ApiError("InvalidParameter",
                       "Certificates only apply to HTTPS, TCP_SSL and QUIC listeners.")
    if sni and given:
        raise ApiError("InvalidParameter",
                       "With SniSwitch 1 the certificates are set per domain (CreateRule, "
                       "ModifyDomainAttributes), not on the listener.")
    if protocol in CERT_PROTOCOLS and not sni and not given:
        raise ApiError("MissingParameter",
                       f"A {protocol} listener without SNI needs `Certificate` (or "
                       "`MultiCertInfo`).")
    binding = clb_certs.binding(call, state, p.get("Certificate"), p.get("MultiCertInfo"), "")
    l4 = protocol in L4_PROTOCOLS
    health = (clb_health.updated(clb_health.listener_default(protocol), p.get("HealthCheck"),
                                 protocol, "HealthCheck") if l4 else None)
    ids = []
    taken = _all_listener_ids(state)
    for index, port in enumerate(ports):
        listener_id = call.new_id("lbl-", taken)
        taken.add(listener_id)
        lb.listeners[listener_id] = Listener(
            listener_id=listener_id, protocol=protocol, port=port,
            name=names[index] if names else "", create_time=call.time,
            sni_switch=sni if protocol == "HTTPS" else 0,
            certificate=copy.deepcopy(binding), health_check=copy.deepcopy(health),
            scheduler=p.get("Scheduler", "WRR") if l4 else None,
            session_expire_time=p.get("SessionExpireTime", 0) if l4 else None,
            keepalive_enable=None if l4 else p.get("KeepaliveEnable", 0),
            idle_connect_timeout=p.get("IdleConnectTimeout", 900 if protocol == "TCP" else 300)
            if protocol in ("TCP", "UDP") else None,
            deregister_target_rst=p.get("DeregisterTargetRst", False),
            target_type=p.get("TargetType", "NODE") if l4 else "NODE",
            session_type=p.get("SessionType", "NORMAL"))
        ids.append(listener_id)
    return {"ListenerIds": ids}


def describe_listeners(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = find_lb(call, state, p["LoadBalancerId"])
    found = list(lb.listeners.values())
    if p.get("ListenerIds"):
        found = [lst for lst in found if lst.listener_id in p["ListenerIds"]]
    if "Protocol" in p:
        found = [lst for lst in found if lst.protocol == p["Protocol"]]
    if "Port" in p:
        found = [lst for lst in found if lst.port == p["Port"]]
    return {"Listeners": [clb_views.listener(lst) for lst in found], "TotalCount": len(found)}


def modify_listener(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    lst = find_listener(lb, p["ListenerId"])
    protocol = lst.protocol
    _l4_only(p, protocol)
    _session_expire(p.get("SessionExpireTime"), protocol, "SessionExpireTime")
    if "SniSwitch" in p:
        if protocol != "HTTPS":
            raise ApiError("InvalidParameterValue", "`SniSwitch` only applies to HTTPS listeners.")
        if lst.sni_switch == 1 and p["SniSwitch"] == 0:
            raise ApiError("InvalidParameterValue",
                           "SNI cannot be switched off on a listener that has it on.")
    sni_after = p.get("SniSwitch", lst.sni_switch)
    given = "Certificate" in p or "MultiCertInfo" in p
    if given and protocol not in CERT_PROTOCOLS:
        raise ApiError("InvalidParameter",
                       "Certificates only apply to HTTPS, TCP_SSL and QUIC listeners.")
    if given and sni_after:
        raise ApiError("InvalidParameter",
                       "The listener has SNI on: set certificates per domain with "
                       "ModifyDomainAttributes.")
    if "ListenerName" in p:
        lst.name = p["ListenerName"]
    if "Scheduler" in p:
        lst.scheduler = p["Scheduler"]
    if "SessionExpireTime" in p and protocol in ("TCP", "UDP"):
        lst.session_expire_time = p["SessionExpireTime"]
    if "HealthCheck" in p:
        base = lst.health_check or clb_health.listener_default(protocol)
        lst.health_check = clb_health.updated(base, p["HealthCheck"], protocol, "HealthCheck")
    if given:
        lst.certificate = clb_certs.binding(call, state, p.get("Certificate"),
                                            p.get("MultiCertInfo"), "")
    if sni_after and not lst.sni_switch:
        # Switching SNI on: each domain keeps serving the certificate it served until now.
        for rule in lst.rules.values():
            if rule.certificate is None:
                rule.certificate = copy.deepcopy(lst.certificate)
        lst.sni_switch, lst.certificate = 1, None
    if "KeepaliveEnable" in p and lst.is_l7:
        lst.keepalive_enable = p["KeepaliveEnable"]
    if "IdleConnectTimeout" in p and protocol in ("TCP", "UDP"):
        lst.idle_connect_timeout = p["IdleConnectTimeout"]
    if "DeregisterTargetRst" in p:
        lst.deregister_target_rst = p["DeregisterTargetRst"]
    return {}


def delete_listener(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    lb = writable_lb(call, state, p["LoadBalancerId"])
    find_listener(lb, p["ListenerId"])
    del lb.listeners[p["ListenerId"]]
    clb_rewrite.forget_removed(lb)
    return {}
