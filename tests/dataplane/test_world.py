"""The data plane driven by the emulator's world: mapping, following changes, health reports."""

import ssl

import pytest

from mtlsform.emulator.dataplane import ALIVE, DEAD, UNKNOWN, DataPlaneConfig
from mtlsform.emulator.dataplane.worldconfig import config_from_world
from mtlsform.emulator.ssl_certificates import new_certificate
from mtlsform.emulator.world import (
    CertBinding,
    HealthCheck,
    Instance,
    Listener,
    LoadBalancer,
    Rule,
    Target,
    World,
    cloud_time,
)
from tests.dataplane.support import (
    DOMAIN,
    client_context,
    count_backends,
    curl,
    eventually,
    https_request,
)


def upload(state, kind, issued):
    record = new_certificate(state, kind, issued.cert_pem,
                             issued.key_pem if kind == "SVR" else None)
    state.certificates[record.cert_id] = record
    return record.cert_id


def build_world(site, pki, *, check: HealthCheck | None = None, weights=(10, 10)) -> World:
    world = World()
    with world.transaction() as state:
        for spec in (site.rs1, site.rs2):
            state.instances[spec.instance_id] = Instance(spec.instance_id, spec.name,
                                                         spec.address)
        server, ca = upload(state, "SVR", pki.server), upload(state, "CA", pki.ca)
        state.certificates["other-ca"] = new_certificate(state, "CA", pki.other_ca.cert_pem, None)
        targets = [Target("CVM", spec.instance_id, spec.address, 80, weight)
                   for spec, weight in zip((site.rs1, site.rs2), weights, strict=True)]
        rule = Rule("loc-w1", DOMAIN, "/", health_check=check or HealthCheck(health_switch=0),
                    targets=targets)
        listener = Listener("lbl-w1", "HTTPS", 443, certificate=CertBinding(
            "MUTUAL", "ON", server, ca), rules={"loc-w1": rule})
        tcp = Listener("lbl-tcp", "TCP", 9000)
        state.load_balancers["lb-w1"] = LoadBalancer(
            "lb-w1", "ap-guangzhou", "web", "OPEN", site.vip, cloud_time(),
            listeners={"lbl-w1": listener, "lbl-tcp": tcp})
    return world


def rule_of(state):
    return state.load_balancers["lb-w1"].listeners["lbl-w1"].rules["loc-w1"]


def test_config_from_world_maps_listeners_rules_targets_and_tls(site, pki):
    world = build_world(site, pki)
    with world.transaction() as state:
        rule = rule_of(state)
        rule.scheduler, rule.session_expire_time, rule.forward_type = "LEAST_CONN", 60, "HTTPS"
        rule.health_check = HealthCheck(interval=7, timeout=3, http_code=2,
                                        http_check_path="/healthz", http_check_method="GET")
        state.load_balancers["lb-new"] = LoadBalancer("lb-new", "ap-guangzhou", "new", "OPEN",
                                                      "127.64.9.9", cloud_time(), status=0)
    config = config_from_world(world.snapshot())
    assert [listener.listener_id for listener in config.listeners] == ["lbl-w1"]  # not TCP
    listener = config.listeners[0]
    assert (listener.vip, listener.port, listener.sni) == (site.vip, 443, False)
    assert listener.tls.mutual and listener.tls.client_ca_pem == pki.ca.cert_pem
    assert "(sensitive)" in repr(listener.tls)  # the key never shows in a repr
    route = listener.routes[0]
    assert (route.domains, route.url, route.scheduler, route.session_expire_time,
            route.forward_type) == ((DOMAIN,), "/", "LEAST_CONN", 60, "HTTPS")
    check = route.health_check
    assert (check.enabled, check.interval, check.http_code, check.path, check.method,
            check.check_type) == (True, 7.0, 2, "/healthz", "GET", "HTTPS")
    assert [(t.target_id, t.address, t.port, t.weight) for t in route.targets] == [
        ("ins-rs1", site.rs1.address, 80, 10), ("ins-rs2", site.rs2.address, 80, 10)]
    assert {i.instance_id for i in config.instances} == {"ins-rs1", "ins-rs2"}
    assert config_from_world(World().snapshot()) == DataPlaneConfig()


def test_a_binding_to_a_missing_certificate_serves_no_tls(site, pki):
    world = build_world(site, pki)
    with world.transaction() as state:
        state.load_balancers["lb-w1"].listeners["lbl-w1"].certificate.cert_ca_id = "gone"
    assert config_from_world(world.snapshot()).listeners[0].tls is None


def test_the_plane_follows_the_world_without_restarting(site, pki, start_plane):
    world = build_world(site, pki)
    plane = start_plane(world)
    endpoint = plane.endpoint("lbl-w1")
    assert (endpoint.vip, endpoint.port) == (site.vip, 443)
    names = [curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                  cert_files=pki.files("client")).stdout.splitlines()[0] for _ in range(4)]
    assert names == ["rs-1", "rs-2", "rs-1", "rs-2"]
    context = client_context(pki.ca.cert_pem, pki.files("client"))

    def ask(n):
        return [https_request(endpoint.host, endpoint.bound_port, context=context)
                for _ in range(n)]

    with world.transaction() as state:  # ModifyTargetWeight
        for target, weight in zip(rule_of(state).targets, (30, 10), strict=True):
            target.weight = weight
    eventually(lambda: plane.applied_version == world.version)
    assert count_backends(ask(40)) == {"rs-1": 30, "rs-2": 10}

    with world.transaction() as state:  # DeregisterTargets
        rule_of(state).targets.pop(0)
    eventually(lambda: plane.applied_version == world.version)
    assert count_backends(ask(3)) == {"rs-2": 3}

    with world.transaction() as state:  # ModifyListener: another client CA
        state.load_balancers["lb-w1"].listeners["lbl-w1"].certificate.cert_ca_id = "other-ca"
    eventually(lambda: plane.applied_version == world.version)
    with pytest.raises(ssl.SSLError) as refused:
        ask(1)
    assert refused.value.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert plane.endpoint("lbl-w1") == endpoint


def test_health_results_are_written_to_the_world(site, pki, start_plane):
    check = HealthCheck(interval=1, timeout=1, healthy_threshold=2, unhealthy_threshold=2,
                        http_check_path="/healthz")
    world = build_world(site, pki, check=check)
    plane = start_plane(world)
    rs1, rs2 = (("loc-w1", spec.address, 80) for spec in (site.rs1, site.rs2))
    eventually(lambda: world.target_health(*rs1) == world.target_health(*rs2) == ALIVE)
    plane.stop_instance("ins-rs2")
    eventually(lambda: world.target_health(*rs2) == DEAD)
    assert plane.target_health()[("lbl-w1", "loc-w1", "ins-rs2", 80)] == DEAD
    assert world.target_health(*rs1) == ALIVE
    plane.stop()
    assert world.target_health(*rs2) == UNKNOWN  # no data plane, no probe results
