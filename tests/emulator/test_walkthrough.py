"""The console walk-through, driven through the official SDK: upload, mutual HTTPS listener,
rule, targets, then reads that show it all, and the tear-down."""

from __future__ import annotations

from typing import Any

from tests.emulator.helpers import call, done


def test_walkthrough_builds_and_tears_down_an_mtls_entry_point(emu: Any, clb: Any, ssl: Any,
                                                                certs: dict, lb: str) -> None:
    listener = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                    ListenerNames=["https"], SniSwitch=0,
                    Certificate={"SSLMode": "MUTUAL", "CertId": certs["server"],
                                 "CertCaId": certs["ca"], "SSLVerifyClient": "ON"})
    lst_id = listener.ListenerIds[0]
    rule = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=lst_id,
                Rules=[{"Domain": "www.example.com", "Url": "/", "Scheduler": "WRR",
                        "ForwardType": "HTTP", "SessionExpireTime": 0,
                        "HealthCheck": {"HealthSwitch": 1, "HttpCheckPath": "/healthz",
                                        "IntervalTime": 5, "TimeOut": 2, "HealthNum": 3,
                                        "UnHealthNum": 3, "HttpCode": 6,
                                        "HttpCheckMethod": "GET"}}])
    loc = rule.LocationIds[0]
    done(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=lst_id, LocationId=loc,
         Targets=[{"InstanceId": "ins-rs1", "Port": 80, "Weight": 10},
                  {"InstanceId": "ins-rs2", "Port": 80, "Weight": 10}])

    listeners = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners
    assert len(listeners) == 1
    got = listeners[0]
    assert (got.Protocol, got.Port, got.SniSwitch, got.ListenerName) == ("HTTPS", 443, 0, "https")
    assert got.Certificate.SSLMode == "MUTUAL"
    assert got.Certificate.CertId == certs["server"]
    assert got.Certificate.CertCaId == certs["ca"]
    assert got.Certificate.SSLVerifyClient == "ON"
    assert got.HealthCheck is None and got.Scheduler is None
    (out,) = got.Rules
    assert (out.LocationId, out.Domain, out.Url, out.Scheduler) == (loc, "www.example.com", "/",
                                                                    "WRR")
    assert out.HealthCheck.HttpCheckPath == "/healthz" and out.HealthCheck.HttpCode == 6
    assert out.Certificate is None  # SNI off: the certificate lives on the listener
    assert out.DefaultServer is True

    backends = call(clb, "DescribeTargets", LoadBalancerId=lb).Listeners[0].Rules[0].Targets
    assert sorted((b.InstanceId, b.Port, b.Weight, b.InstanceName) for b in backends) == [
        ("ins-rs1", 80, 10, "rs-1"), ("ins-rs2", 80, 10, "rs-2")]
    assert {b.PrivateIpAddresses[0] for b in backends} == {"127.32.0.1", "127.32.0.2"}

    world = emu.world.snapshot()
    rule_in_world = world.load_balancers[lb].listeners[lst_id].rules[loc]
    assert [t.ip for t in rule_in_world.targets] == ["127.32.0.1", "127.32.0.2"]
    assert world.load_balancers[lb].vip.startswith("127.64.")

    by_cert = call(clb, "DescribeLoadBalancerListByCertId", CertIds=[certs["ca"], certs["api"]])
    assert [(c.CertId, [x.LoadBalancerId for x in c.LoadBalancers]) for c in by_cert.CertSet] == [
        (certs["ca"], [lb]), (certs["api"], [])]

    done(clb, "DeregisterTargets", LoadBalancerId=lb, ListenerId=lst_id, LocationId=loc,
         Targets=[{"InstanceId": "ins-rs1", "Port": 80}, {"InstanceId": "ins-rs2", "Port": 80}])
    done(clb, "DeleteRule", LoadBalancerId=lb, ListenerId=lst_id, LocationIds=[loc])
    done(clb, "DeleteListener", LoadBalancerId=lb, ListenerId=lst_id)
    for name in ("server", "ca"):
        assert call(ssl, "DeleteCertificate", CertificateId=certs[name]).DeleteResult is True
    done(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb])
    assert call(clb, "DescribeLoadBalancers").TotalCount == 0
