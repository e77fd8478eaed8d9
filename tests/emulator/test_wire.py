"""The wire: always HTTP 200 + `Content-Type: application/json` + the Response envelope; routing
by action and version; parameter checks; GET requests; the /_emulator tool endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mtlsform.emulator import Emulator
from tests.emulator import helpers
from tests.emulator.helpers import call, code_of, done, error_of, raw


def _assert_envelope(status: int, headers: dict, answer: Any) -> None:
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert set(answer) == {"Response"}
    assert isinstance(answer["Response"]["RequestId"], str)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"action": "NoSuchThing"}, "InvalidAction"),
    ({"action": "UploadCertificate"}, "InvalidAction"),  # an ssl action under clb's version
    ({"action": "DescribeLoadBalancers", "version": "2017-01-01"}, "NoSuchVersion"),
    ({"action": None}, "MissingParameter"),
    ({"action": "DescribeLoadBalancers", "region": None}, "MissingParameter"),
    ({"action": "DescribeLoadBalancers", "region": "mars-north-1"},
     "InvalidParameter.RegionNotFound"),
    ({"action": "DescribeLoadBalancers", "body": b'{"Bogus": 1}'}, "UnknownParameter"),
    ({"action": "DescribeLoadBalancers", "body": b'{"Limit": "many"}'},
     "InvalidParameter.FormatError"),
    ({"action": "DescribeLoadBalancers", "body": b'{"Limit": 101}'},
     "InvalidParameterValue.Range"),
    ({"action": "DescribeLoadBalancers", "body": b"{not json"}, "InvalidParameter"),
    ({"action": "DescribeLoadBalancers", "body": b"[1, 2]"}, "InvalidParameter"),
    ({"action": "DescribeLoadBalancers", "body": b"\xff\xfe"}, "InvalidParameter"),
    ({"action": "DescribeListeners"}, "MissingParameter"),
    ({"action": "DescribeListeners", "body": b'{"LoadBalancerId": "lb-x"}'},
     "InvalidParameter.FormatError"),
    ({"action": "DescribeListeners", "body": b'{"LoadBalancerId": "lb-00000000"}'},
     "InvalidParameter.LBIdNotFound"),
    ({"action": "DescribeLoadBalancers", "method": "PUT"}, "UnsupportedProtocol"),
    ({"action": "DescribeLoadBalancers", "path": "/v2"}, "UnsupportedProtocol"),
    ({"action": "DescribeLoadBalancers", "headers": {"Content-Type": "text/xml"}},
     "InvalidParameter"),
    ({"action": "DescribeCertificates", "service": "ssl", "body": b'{"Limit": true}'},
     "InvalidParameter"),
    ({"action": "DescribeCertificateDetail", "service": "ssl"}, "MissingParameter"),
    ({"action": "DescribeCertificateDetail", "service": "ssl",
      "body": b'{"CertificateId": "abcdEFGH"}'}, "FailedOperation.CertificateNotFound"),
])
def test_errors_come_in_the_envelope(emu: Emulator, kwargs: dict, code: str) -> None:
    action = kwargs.pop("action")
    status, headers, answer = raw(emu, action, **kwargs)
    _assert_envelope(status, headers, answer)
    assert code_of(answer) == code, answer
    assert answer["Response"]["Error"]["Message"]


def test_success_comes_in_the_envelope(emu: Emulator) -> None:
    status, headers, answer = raw(emu, "DescribeLoadBalancers", b'{"Limit": "5"}')
    _assert_envelope(status, headers, answer)
    assert answer["Response"]["TotalCount"] == 0 and answer["Response"]["LoadBalancerSet"] == []


def test_empty_body_means_no_parameters(emu: Emulator) -> None:
    assert code_of(raw(emu, "DescribeLoadBalancers", b"")[2]) is None


def test_malformed_http_still_gets_an_envelope(emu: Emulator) -> None:
    import socket

    host, port = emu.endpoint.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"BREW / HTCPCP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0]
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["Response"]["Error"]["Code"] == "InvalidRequest"


def test_nested_errors_name_the_full_parameter_path(emu: Emulator, lb: str) -> None:
    client = helpers.common(emu)
    body = {"LoadBalancerId": lb, "ListenerId": "lbl-00000000",
            "Targets": [{"InstanceId": "ins-rs1", "Port": 80}, {"Port": 70000}]}
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json("RegisterTargets", body)
    assert info.value.code == "InvalidParameterValue.Range"
    assert "Targets.1.Port" in info.value.message
    body["Targets"] = [{"InstanceId": "ins-rs1", "Port": 80, "Colour": "red"}]
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json("RegisterTargets", body)
    assert info.value.code == "UnknownParameter" and "Targets.0.Colour" in info.value.message


def test_get_requests_work_like_post(emu: Emulator, certs: dict, lb: str) -> None:
    profile = helpers.profile(emu)
    profile.httpProfile.reqMethod = "GET"
    from tencentcloud.clb.v20180317 import clb_client

    client = clb_client.ClbClient(helpers.cred(), helpers.REGION, profile)
    listener = done(client, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                    Certificate={"SSLMode": "MUTUAL", "CertId": certs["server"],
                                 "CertCaId": certs["ca"]}, DeregisterTargetRst=True)
    got = call(client, "DescribeListeners", LoadBalancerId=lb,
               ListenerIds=listener.ListenerIds).Listeners[0]
    assert got.Certificate.CertCaId == certs["ca"] and got.DeregisterTargetRst is True


def test_tool_endpoints(emu: Emulator, clb: Any, certs: dict, lb: str) -> None:
    import urllib.request

    def get(path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(emu.url + path, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
            return json.loads(resp.read())

    error_of(clb, "DescribeListeners", LoadBalancerId="lb-00000000")
    stats = get("/_emulator/stats")
    assert stats["calls"]["UploadCertificate"] == 4
    assert stats["calls"]["DescribeListeners"] == 1
    assert stats["errors"]["DescribeListeners"] == {"InvalidParameter.LBIdNotFound": 1}
    assert stats["internal_errors"] == [] and stats == {**emu.stats(), "tasks": stats["tasks"]}
    world = get("/_emulator/world")
    text = json.dumps(world)
    assert "PRIVATE KEY" not in text
    certs_in_world = world["world"]["certificates"]
    assert certs_in_world[certs["server"]]["private_key_pem"] == "(redacted)"
    assert certs_in_world[certs["ca"]]["private_key_pem"] is None
    assert lb in world["world"]["load_balancers"]
    assert set(world["world"]["instances"]) == {"ins-rs1", "ins-rs2"}
    assert get("/_emulator/reset-stats", "POST") == {"reset": True}
    assert get("/_emulator/stats")["total"] == 0
    assert get("/_emulator/health")["status"] == "ok"
    assert get("/_emulator/nothing")["Response"]["Error"]["Code"] == "ResourceNotFound"
