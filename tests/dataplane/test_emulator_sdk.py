"""The walk-through end to end: configured through the official SDK, served by the data plane.

An in-process emulator; the data plane follows its world while the SDK uploads certificates,
creates a mutual-TLS listener, a rule with a health check, and binds rs-1 and rs-2; curl then
sees the requests spread, DescribeTargetHealth reports the data plane's probe results, and
changes made through the API (weights, the client CA) apply without a restart.
"""

import ssl

import pytest

from tests.dataplane.sdk import call, done
from tests.dataplane.support import (
    DOMAIN,
    SUBNET,
    client_context,
    count_backends,
    curl,
    eventually,
    https_request,
)


def test_walkthrough_through_the_sdk(emulator, pki, start_plane):
    emu, clb, ssl_api = emulator
    plane = start_plane(emu.world)  # first, so it must follow every change below

    def upload(issued, kind):
        return call(ssl_api, "UploadCertificate", CertificatePublicKey=issued.cert_pem,
                    CertificatePrivateKey=issued.key_pem if kind == "SVR" else None,
                    CertificateType=kind).CertificateId

    server, ca, other_ca = upload(pki.server, "SVR"), upload(pki.ca, "CA"), upload(
        pki.other_ca, "CA")
    vip = f"127.64.{SUBNET}.{(SUBNET * 7) % 250 + 1}"
    lb_id = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", LoadBalancerName="web",
                 Vip=vip).LoadBalancerIds[0]
    listener_id = done(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[443],
                       Protocol="HTTPS", ListenerNames=["https"], Certificate={
                           "SSLMode": "MUTUAL", "CertId": server, "CertCaId": ca}).ListenerIds[0]
    location_id = done(clb, "CreateRule", LoadBalancerId=lb_id, ListenerId=listener_id, Rules=[{
        "Domain": DOMAIN, "Url": "/", "HealthCheck": {
            "HealthSwitch": 1, "IntervalTime": 3, "TimeOut": 2, "HealthNum": 2,
            "UnHealthNum": 2, "HttpCheckPath": "/healthz", "HttpCheckMethod": "GET"}}]
                       ).LocationIds[0]
    done(clb, "RegisterTargets", LoadBalancerId=lb_id, ListenerId=listener_id,
         LocationId=location_id, Targets=[{"InstanceId": "ins-rs1", "Port": 80, "Weight": 10},
                                          {"InstanceId": "ins-rs2", "Port": 80, "Weight": 10}])
    eventually(lambda: plane.applied_version == emu.world.version)

    endpoint = plane.endpoint(listener_id)
    assert (endpoint.vip, endpoint.port) == (vip, 443)
    names = [curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                  cert_files=pki.files("client")).stdout.splitlines()[0] for _ in range(4)]
    assert names == ["rs-1", "rs-2", "rs-1", "rs-2"]
    refused = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file)
    assert refused.returncode == 56 and "certificate required" in refused.stderr

    def health():
        answer = call(clb, "DescribeTargetHealth", LoadBalancerIds=[lb_id])
        rule = answer.LoadBalancers[0].Listeners[0].Rules[0]
        return {t.TargetId: t.HealthStatusDetail for t in rule.Targets}

    eventually(lambda: health() == {"ins-rs1": "Alive", "ins-rs2": "Alive"})

    done(clb, "ModifyTargetWeight", LoadBalancerId=lb_id, ListenerId=listener_id,
         LocationId=location_id, Targets=[{"InstanceId": "ins-rs1", "Port": 80, "Weight": 30},
                                          {"InstanceId": "ins-rs2", "Port": 80, "Weight": 10}])
    eventually(lambda: plane.applied_version == emu.world.version)
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    replies = [https_request(endpoint.host, endpoint.bound_port, context=context)
               for _ in range(40)]
    assert count_backends(replies) == {"rs-1": 30, "rs-2": 10}

    done(clb, "ModifyListener", LoadBalancerId=lb_id, ListenerId=listener_id, Certificate={
        "SSLMode": "MUTUAL", "CertId": server, "CertCaId": other_ca})
    eventually(lambda: plane.applied_version == emu.world.version)
    with pytest.raises(ssl.SSLError) as caught:
        https_request(endpoint.host, endpoint.bound_port, context=context)
    assert caught.value.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert plane.endpoint(listener_id) == endpoint  # never restarted
