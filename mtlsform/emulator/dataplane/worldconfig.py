"""From the emulator's world to a `DataPlaneConfig`, and the data plane's link to the world.

`config_from_world` reads a consistent snapshot: every HTTP/HTTPS listener of every load
balancer that is not still being created, its rules (domains, URL, scheduler, forward type,
session persistence, health check, SNI certificate) and bound targets, the TLS material of the
uploaded certificates the listener or domain uses, and the CVM instances (demo backends).
A binding whose certificate is missing or has no private key leaves that listener or domain
without TLS (its handshakes are refused and logged). Only the main server certificate
(`CertId`) is served beside any extra ones of other key algorithms (`ExtCertIds`, dual
certificates: OpenSSL picks the one the client's offer can use); an extra one that is missing
or has no private key is left out.
The TLS versions and ciphers are those of the customized configuration bound to the domain
(SNI on), or to the listener's default domain (else its first bound domain; SNI off), else to
the whole load balancer; without one, CLB's default: TLS 1.0 to 1.3.

`WorldLink` follows the world: it subscribes to change notifications and tells the data plane
to re-read the world, and writes the health-check results back to it
(`World.set_target_health`), so DescribeTargetHealth reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mtlsform.emulator.dataplane.config import (
    MUTUAL,
    UNIDIRECTIONAL,
    VERIFY_ON,
    VERIFY_OPTIONAL,
    DataPlaneConfig,
    HealthCheckConfig,
    InstanceConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    TlsPolicy,
)
from mtlsform.emulator.dataplane.health import UNKNOWN, HealthKey
from mtlsform.emulator.dataplane.redirect import RedirectConfig, redirect_config
from mtlsform.emulator.dataplane.tlsdirectives import tls_settings
from mtlsform.emulator.world import (
    CertBinding,
    Certificate,
    CustomizedConfig,
    HealthCheck,
    Rule,
    World,
    WorldState,
)
from mtlsform.sensitive import Sensitive

SERVED = ("HTTP", "HTTPS")


def protocol_settings(config: CustomizedConfig | None) -> dict[str, Any]:
    """`protocols` and `ciphers` of a TlsPolicy from a customized configuration's text."""
    return tls_settings(config.content if config is not None else None)


def bound_config(state: WorldState, lb_id: str,
                 rules: list[Rule]) -> CustomizedConfig | None:
    """The customized configuration serving these rules' domain(s): the first bound to one of
    them (the default domain's first), else one bound to the whole load balancer."""
    for rule in sorted(rules, key=lambda r: not r.default_server):
        if rule.config_id and rule.config_id in state.configs:
            return state.configs[rule.config_id]
    return next((c for _, c in sorted(state.configs.items()) if lb_id in c.lb_ids), None)


def tls_policy(binding: CertBinding | None, certificates: dict[str, Certificate],
               settings: dict[str, Any] | None = None, *,
               http2: bool = False) -> TlsPolicy | None:
    """The TLS policy of a certificate binding, or None when it cannot be served."""
    if binding is None or not binding.cert_id:
        return None
    server = certificates.get(binding.cert_id)
    if server is None or not server.private_key_pem:
        return None
    mode = MUTUAL if binding.ssl_mode == MUTUAL else UNIDIRECTIONAL
    ca_pem = None
    if mode == MUTUAL:
        ca = certificates.get(binding.cert_ca_id or "")
        if ca is None:
            return None
        ca_pem = ca.certificate_pem
    verify = VERIFY_OPTIONAL if binding.ssl_verify_client == VERIFY_OPTIONAL else VERIFY_ON
    extras = [certificates.get(cert_id) for cert_id in binding.ext_cert_ids]
    return TlsPolicy(server_cert_pem=server.certificate_pem,
                     extra_servers=tuple((extra.certificate_pem,
                                          Sensitive(extra.private_key_pem))
                                         for extra in extras
                                         if extra is not None and extra.private_key_pem),
                     server_key_pem=Sensitive(server.private_key_pem), mode=mode,
                     verify_client=verify, client_ca_pem=ca_pem, http2=http2,
                     **(settings or {}))


def health_check(check: HealthCheck, forward_type: str, protocol: str) -> HealthCheckConfig:
    """A rule's health check; the check type defaults to the backend protocol (HTTPS rules)."""
    default_type = forward_type if protocol == "HTTPS" else "HTTP"
    return HealthCheckConfig(
        enabled=check.health_switch == 1,
        interval=float(check.interval),
        timeout=float(check.timeout),
        healthy_threshold=check.healthy_threshold,
        unhealthy_threshold=check.unhealthy_threshold,
        http_code=check.http_code if check.http_code else 31,
        path=check.http_check_path or "/",
        method=(check.http_check_method or "HEAD").upper(),
        domain=check.http_check_domain or None,
        check_type=(check.check_type or default_type).upper(),
    )


def route_config(rule: Rule, protocol: str, sni: bool,
                 certificates: dict[str, Certificate],
                 settings: dict[str, Any] | None = None,
                 redirect: RedirectConfig | None = None) -> RouteConfig:
    domains = tuple(rule.domains) if rule.domains else (rule.domain,)
    return RouteConfig(
        location_id=rule.location_id,
        domains=domains,
        url=rule.url,
        scheduler=rule.scheduler or "WRR",
        forward_type=(rule.forward_type or "HTTP").upper(),
        session_expire_time=rule.session_expire_time or 0,
        cookie_name=rule.cookie_name or None,
        health_check=health_check(rule.health_check, rule.forward_type or "HTTP", protocol),
        # In a fixed order (by server, then port), not the order they were bound in: the
        # rotation must not depend on which of several concurrent registrations came first.
        targets=tuple(TargetConfig(target.instance_id or target.ip, target.ip, target.port,
                                   target.weight)
                      for target in sorted(rule.targets,
                                           key=lambda t: (t.instance_id or t.ip, t.port))),
        tls=tls_policy(rule.certificate, certificates, settings, http2=rule.http2)
        if sni else None,
        default_server=rule.default_server,
        redirect=redirect,
    )


def _default_http2(rules: Iterable[Rule]) -> bool:
    """SNI off: ALPN is chosen before any Host is seen, so the default domain's Http2 counts."""
    listed = list(rules)
    default = next((rule for rule in listed if rule.default_server), None)
    chosen = default or (listed[0] if listed else None)
    return bool(chosen and chosen.http2)


def config_from_world(state: WorldState) -> DataPlaneConfig:
    """Everything of `state` the data plane serves."""
    listeners: list[ListenerConfig] = []
    for lb_id in sorted(state.load_balancers):
        lb = state.load_balancers[lb_id]
        if lb.status != 1:
            continue  # still being created
        for listener_id in sorted(lb.listeners):
            listener = lb.listeners[listener_id]
            if listener.protocol not in SERVED:
                continue
            sni = listener.protocol == "HTTPS" and listener.sni_switch == 1
            rules = list(listener.rules.values())
            listeners.append(ListenerConfig(
                listener_id=listener.listener_id,
                load_balancer_id=lb.lb_id,
                vip=lb.vip,
                port=listener.port,
                protocol=listener.protocol,
                sni=sni,
                tls=(tls_policy(listener.certificate, state.certificates,
                                protocol_settings(bound_config(state, lb.lb_id, rules)),
                                http2=_default_http2(listener.rules.values()))
                     if listener.protocol == "HTTPS" and not sni else None),
                routes=tuple(route_config(
                    rule, listener.protocol, sni, state.certificates,
                    protocol_settings(bound_config(state, lb.lb_id, [rule])) if sni else None,
                    redirect_config(rule, lb))
                    for rule in rules),
                name=listener.name,
            ))
    instances = tuple(InstanceConfig(i.instance_id, i.name, i.private_ip)
                      for _, i in sorted(state.instances.items()))
    return DataPlaneConfig(listeners=tuple(listeners), instances=instances)


class WorldLink:
    """Keeps a data plane in step with a world, and reports health results back to it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._unsubscribe: Callable[[], None] | None = None
        self._reported: dict[tuple[str, str, int], str] = {}
        self._addresses: dict[HealthKey, str] = {}

    def read(self) -> tuple[int, DataPlaneConfig]:
        """(version, config) of the world now."""
        state = self.world.snapshot()
        config = config_from_world(state)
        self._addresses = {
            (listener.listener_id, route.location_id, target.target_id, target.port):
                target.address
            for listener in config.listeners for route in listener.routes
            for target in route.targets}
        return state.version, config

    def follow(self, on_change: Callable[[int], None]) -> None:
        self._unsubscribe = self.world.subscribe(on_change)

    def report_health(self, key: HealthKey, status: str) -> None:
        """Records one target's result in the world (rule key = location ID, target IP)."""
        address = self._addresses.get(key)
        if address is None:
            return
        world_key = (key[1], address, key[3])
        self._reported[world_key] = status
        self.world.set_target_health(key[1], address, key[3], status)

    def unfollow(self) -> None:
        """Stops the change notifications."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def close(self) -> None:
        """Stops following and forgets the results it reported (the world shows Unknown)."""
        self.unfollow()
        for rule_key, address, port in self._reported:
            self.world.set_target_health(rule_key, address, port, UNKNOWN)
        self._reported.clear()
