"""Every provider method against the emulator: create, read back, modify, delete (twice)."""

from __future__ import annotations

import pytest

from mtlsform.errors import ProviderError
from mtlsform.providers.base import (
    CertificateBinding,
    HealthCheckSpec,
    ListenerSpec,
    LoadBalancerSpec,
    RuleSpec,
    TargetInfo,
    TargetSpec,
)
from mtlsform.sensitive import Sensitive
from tests.providers.certs import Pki
from tests.providers.conftest import Cloud, instance_ids


def test_load_balancer_create_read_delete(cloud: Cloud) -> None:
    p = cloud.provider
    info = p.create_load_balancer(LoadBalancerSpec(name="web", network="public",
                                                   tags={"team": "edge"}))
    assert info.status == 1 and info.vips and info.name == "web"
    assert info.network == "public" and info.tags == {"team": "edge"}
    assert cloud.calls()["DescribeTaskStatus"] >= 1  # the create's task was awaited

    assert p.read_load_balancers([info.id, "lb-00000000"]) == {info.id: info}
    p.delete_load_balancer(info.id)
    assert p.read_load_balancers([info.id]) == {}
    assert p.read_listeners(info.id) is None
    p.delete_load_balancer(info.id)  # already gone: done
    assert cloud.errors()["DeleteLoadBalancer"] == {"InvalidParameter.LBIdNotFound": 1}


def test_client_token_makes_create_idempotent(cloud: Cloud) -> None:
    spec = LoadBalancerSpec(name="once", client_token="op-0001")
    first = cloud.provider.create_load_balancer(spec)
    again = cloud.provider.create_load_balancer(spec)
    assert again.id == first.id
    other = cloud.provider.create_load_balancer(LoadBalancerSpec(name="once"))
    assert other.id != first.id


def test_private_network_maps_to_internal(cloud: Cloud) -> None:
    info = cloud.provider.create_load_balancer(
        LoadBalancerSpec(name="inner", network="private", vpc_id="vpc-12345678",
                         subnet_id="subnet-12345678"))
    assert info.network == "private"
    raw = cloud.context.sdk_client("clb").call_json(
        "DescribeLoadBalancers", {"LoadBalancerIds": [info.id]})
    assert raw["Response"]["LoadBalancerSet"][0]["LoadBalancerType"] == "INTERNAL"


def test_certificates_upload_read_delete(cloud: Cloud, pki: Pki) -> None:
    p = cloud.provider
    ca = p.upload_certificate("CA", pki.ca_pem, None, "test-ca").id
    server = p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.server_key_pem), "www").id
    # Identical content again (Repeatable=False): the existing ID, even with other newlines.
    assert p.upload_certificate("SVR", "\n" + pki.server_pem + "\n\n",
                                Sensitive(pki.server_key_pem), "www").id == server
    assert p.upload_certificate("CA", pki.ca_pem, None, "test-ca").id == ca

    cloud.reset()
    found = p.read_certificates([ca, server, "abcdEFGH", ca])
    assert cloud.calls() == {"DescribeCertificates": 1}  # one bulk call
    assert set(found) == {ca, server}
    assert (found[ca].type, found[ca].alias, found[ca].status) == ("CA", "test-ca", 1)
    assert found[server].type == "SVR" and found[server].not_after

    p.delete_certificate(server)
    p.delete_certificate(server)  # already gone: done
    assert p.read_certificates([server]) == {}


def test_server_certificate_needs_its_key(cloud: Cloud, pki: Pki) -> None:
    with pytest.raises(ValueError):
        cloud.provider.upload_certificate("SVR", pki.server_pem, None, "x")


def test_certificate_with_wrong_key_fails_with_the_api_code(cloud: Cloud, pki: Pki) -> None:
    with pytest.raises(ProviderError) as caught:
        cloud.provider.upload_certificate("SVR", pki.server_pem,
                                          Sensitive(pki.other_server_key_pem), "mismatch")
    assert caught.value.code.startswith("FailedOperation.Certificate")
    assert caught.value.action == "UploadCertificate"


def mutual_listener(cloud: Cloud, pki: Pki) -> tuple[str, str, str, str]:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="web")).id
    ca = p.upload_certificate("CA", pki.ca_pem, None, "ca").id
    server = p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.server_key_pem), "www").id
    listener = p.create_listener(lb, ListenerSpec(
        name="https", protocol="HTTPS", port=443, sni=False,
        certificate=CertificateBinding("MUTUAL", server, ca)))
    return lb, listener, ca, server


def test_listener_rule_targets_round_trip(cloud: Cloud, pki: Pki) -> None:
    p = cloud.provider
    lb, listener, ca, server = mutual_listener(cloud, pki)
    check = HealthCheckSpec(path="/healthz", interval=10, timeout=3, healthy_threshold=2,
                            unhealthy_threshold=4, http_code_mask=2 | 4, method="GET",
                            check_type="HTTP", source_ip_type=1)
    rule = p.create_rule(lb, listener, RuleSpec(domain="www.example.com", url="/",
                                                scheduler="WRR", forward_type="HTTP",
                                                session_expire_time=0, health_check=check))
    p.register_targets(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs1"),
                                           TargetSpec(port=80, instance_id="ins-rs2", weight=30)])

    read = p.read_listeners(lb)
    assert read is not None and list(read) == [listener]
    info = read[listener]
    assert (info.name, info.protocol, info.port, info.sni) == ("https", "HTTPS", 443, False)
    assert info.certificate == CertificateBinding("MUTUAL", server, ca)
    (rule_info,) = info.rules
    assert (rule_info.id, rule_info.domain, rule_info.url) == (rule, "www.example.com", "/")
    assert rule_info.health_check == check
    assert rule_info.certificate is None  # SNI off: the certificate is on the listener
    assert rule_info.targets == (TargetInfo(port=80, weight=10, instance_id="ins-rs1"),
                                 TargetInfo(port=80, weight=30, instance_id="ins-rs2"))

    p.modify_listener(lb, listener, name="https-renamed",
                      certificate=CertificateBinding("UNIDIRECTIONAL", server))
    p.modify_listener(lb, listener)  # nothing to change: no call
    p.modify_rule(lb, listener, rule, RuleSpec(
        domain="www.example.com", url="/", scheduler="LEAST_CONN", forward_type="HTTPS",
        session_expire_time=3600, health_check=HealthCheckSpec(enabled=False)))
    p.modify_target_weights(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs1",
                                                            weight=0),
                                                 TargetSpec(port=80, instance_id="ins-rs2",
                                                            weight=77)])
    info = p.read_listeners(lb)[listener]
    assert info.name == "https-renamed"
    assert info.certificate == CertificateBinding("UNIDIRECTIONAL", server)
    (rule_info,) = info.rules
    assert (rule_info.scheduler, rule_info.forward_type, rule_info.session_expire_time) == (
        "LEAST_CONN", "HTTPS", 3600)
    assert rule_info.health_check.enabled is False
    assert [(t.instance_id, t.weight) for t in rule_info.targets] == [("ins-rs1", 0),
                                                                      ("ins-rs2", 77)]

    p.deregister_targets(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs1")])
    p.deregister_targets(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs1")])
    assert [t.instance_id for t in p.read_listeners(lb)[listener].rules[0].targets] == [
        "ins-rs2"]

    p.delete_rule(lb, listener, rule)
    p.delete_rule(lb, listener, rule)  # already gone: done
    p.deregister_targets(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs2")])
    assert p.read_listeners(lb)[listener].rules == ()
    p.delete_listener(lb, listener)
    p.delete_listener(lb, listener)
    assert p.read_listeners(lb) == {}


def test_sni_listener_certificates_per_domain(cloud: Cloud, pki: Pki) -> None:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="sni")).id
    ca = p.upload_certificate("CA", pki.ca_pem, None, "ca").id
    www = p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.server_key_pem), "www").id
    api = p.upload_certificate("SVR", pki.other_server_pem,
                               Sensitive(pki.other_server_key_pem), "api").id
    listener = p.create_listener(lb, ListenerSpec(name="sni", protocol="HTTPS", port=8443,
                                                  sni=True))
    rule = p.create_rule(lb, listener, RuleSpec(
        domain="www.example.com", url="/", certificate=CertificateBinding("MUTUAL", www, ca)))
    info = p.read_listeners(lb)[listener]
    assert info.sni is True and info.certificate is None
    assert info.rules[0].certificate == CertificateBinding("MUTUAL", www, ca)

    p.modify_domain_certificate(lb, listener, "www.example.com",
                                CertificateBinding("MUTUAL", api, ca))
    assert p.read_listeners(lb)[listener].rules[0].certificate == CertificateBinding(
        "MUTUAL", api, ca)
    assert p.read_listeners(lb)[listener].rules[0].id == rule


def test_plain_http_listener_has_no_certificate(cloud: Cloud) -> None:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="plain")).id
    listener = p.create_listener(lb, ListenerSpec(name="http", protocol="HTTP", port=80))
    info = p.read_listeners(lb)[listener]
    assert (info.protocol, info.sni, info.certificate, info.rules) == ("HTTP", False, None, ())


def test_targets_go_in_chunks_of_20_with_each_weight(cloud: Cloud) -> None:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="many")).id
    listener = p.create_listener(lb, ListenerSpec(name="http", protocol="HTTP", port=80))
    rule = p.create_rule(lb, listener, RuleSpec(domain="many.example.com", url="/"))
    targets = [TargetSpec(port=8080, instance_id=i, weight=n)
               for n, i in enumerate(instance_ids(25))]

    cloud.reset()
    p.register_targets(lb, listener, rule, targets)
    assert cloud.calls()["RegisterTargets"] == 2
    bound = p.read_listeners(lb)[listener].rules[0].targets
    assert {(t.instance_id, t.weight) for t in bound} == {(t.instance_id, t.weight)
                                                          for t in targets}

    reweighted = [TargetSpec(port=8080, instance_id=t.instance_id, weight=100 - t.weight)
                  for t in targets]
    cloud.reset()
    p.modify_target_weights(lb, listener, rule, reweighted)
    assert cloud.calls()["ModifyTargetWeight"] == 2
    bound = p.read_listeners(lb)[listener].rules[0].targets
    assert {(t.instance_id, t.weight) for t in bound} == {(t.instance_id, t.weight)
                                                          for t in reweighted}

    cloud.reset()
    p.deregister_targets(lb, listener, rule, targets)
    assert cloud.calls()["DeregisterTargets"] == 2
    assert p.read_listeners(lb)[listener].rules[0].targets == ()


def test_register_again_after_a_lost_answer_binds_only_the_rest(cloud: Cloud) -> None:
    """A retried RegisterTargets whose first attempt went through must not fail."""
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="again")).id
    listener = p.create_listener(lb, ListenerSpec(name="http", protocol="HTTP", port=80))
    rule = p.create_rule(lb, listener, RuleSpec(domain="a.example.com", url="/"))
    first = TargetSpec(port=80, instance_id="ins-rs1")
    p.register_targets(lb, listener, rule, [first])
    p.register_targets(lb, listener, rule, [first, TargetSpec(port=80, instance_id="ins-rs2")])
    bound = p.read_listeners(lb)[listener].rules[0].targets
    assert [t.instance_id for t in bound] == ["ins-rs1", "ins-rs2"]


def test_unknown_instance_fails_with_the_api_message(cloud: Cloud) -> None:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="bad")).id
    listener = p.create_listener(lb, ListenerSpec(name="http", protocol="HTTP", port=80))
    rule = p.create_rule(lb, listener, RuleSpec(domain="b.example.com", url="/"))
    with pytest.raises(ProviderError) as caught:
        p.register_targets(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-nothere")])
    assert caught.value.code == "InvalidParameter"
    assert "ins-nothere" in str(caught.value)
