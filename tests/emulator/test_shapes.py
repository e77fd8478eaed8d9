"""Requests and responses match the official SDK's models field for field.

The request tables accept exactly the fields of each `<Action>Request` model, with the same types;
every answer carries every field of `<Action>Response`, nothing else, each of its declared type.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from mtlsform.emulator.dispatch import ACTIONS
from mtlsform.emulator.params import Param
from tests.emulator import helpers, shapes
from tests.emulator.helpers import call, done

_KIND = {"str": "str", "int": "int", "bool": "bool"}


def _module(service: str) -> Any:
    return importlib.import_module("tencentcloud.clb.v20180317.models" if service == "clb"
                                   else "tencentcloud.ssl.v20191205.models")


def _compare(module: Any, table: dict[str, Param], model: type, path: str) -> list[str]:
    declared = shapes.fields(model)
    problems = [f"{path}{n}: not in {model.__name__}" for n in table if n not in declared]
    problems += [f"{path}{n}: accepted by the SDK but not declared" for n in declared
                 if n not in table]
    for name, param in table.items():
        text = declared.get(name)
        if text is None:
            continue
        problems += _compare_param(module, param, text, f"{path}{name}")
    return problems


def _compare_param(module: Any, param: Param, text: str, path: str) -> list[str]:
    if param.kind == "list":
        if not text.startswith("list of "):
            return [f"{path}: a list here, {text} in the SDK"]
        assert param.item is not None
        item = text.removeprefix("list of ").split()[0]
        item_text = item if item in _KIND else f":class:`x.models.{item}`"
        return _compare_param(module, param.item, item_text, path + ".N")
    if param.kind in _KIND:
        return [] if text == _KIND[param.kind] else [f"{path}: {param.kind} here, {text} in SDK"]
    model = shapes._model(module, text)
    if model is None:
        return [f"{path}: an object here, {text} in the SDK"]
    if param.kind == "opaque":
        return []
    assert param.fields is not None
    return _compare(module, dict(param.fields), model, path + ".")


@pytest.mark.parametrize("key", sorted(ACTIONS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_request_table_matches_the_sdk_request_model(key: tuple[str, str]) -> None:
    action = ACTIONS[key]
    module = _module(action.service)
    model = getattr(module, action.name + "Request")
    assert _compare(module, dict(action.params), model, "") == []


def test_every_action_is_served() -> None:
    wanted = {"CreateLoadBalancer", "DescribeLoadBalancers", "DeleteLoadBalancer",
              "CreateListener", "DescribeListeners", "ModifyListener", "DeleteListener",
              "CreateRule", "ModifyRule", "ModifyDomainAttributes", "DeleteRule",
              "RegisterTargets", "DeregisterTargets", "ModifyTargetWeight", "DescribeTargets",
              "DescribeTargetHealth", "DescribeTaskStatus", "DescribeLoadBalancerListByCertId",
              "ModifyLoadBalancerAttributes", "SetCustomizedConfigForLoadBalancer",
              "AssociateCustomizedConfig", "DisassociateCustomizedConfig",
              "DescribeCustomizedConfigList", "DescribeCustomizedConfigAssociateList",
              "ManualRewrite", "AutoRewrite", "DescribeRewrite", "DeleteRewrite",
              "SetLoadBalancerSecurityGroups"}
    assert {n for s, n in ACTIONS if s == "clb"} == wanted
    assert {n for s, n in ACTIONS if s == "ssl"} == {
        "UploadCertificate", "DescribeCertificateDetail", "DescribeCertificates",
        "DeleteCertificate", "ModifyCertificateAlias", "DescribeDeleteCertificatesTaskResult"}


def test_every_answer_has_the_sdk_response_shape(emu: Any, clb: Any, certs: dict,
                                                  lb: str) -> None:
    raw_clb, raw_ssl = helpers.common(emu, "clb"), helpers.common(emu, "ssl")
    checked: set[str] = set()

    def check(service: str, action: str, params: dict) -> dict:
        client = raw_clb if service == "clb" else raw_ssl
        answer = client.call_json(action, params)
        assert shapes.response_problems(service, action, answer) == [], action
        checked.add(action)
        if service == "clb" and action not in ("DescribeTaskStatus",) and \
                ACTIONS[("clb", action)].mode == "task":
            assert helpers.wait(clb, answer["Response"]["RequestId"]).Status == 0
        return answer["Response"]

    mutual = {"SSLMode": "MUTUAL", "CertId": certs["server"], "CertCaId": certs["ca"]}
    https = check("clb", "CreateListener", {"LoadBalancerId": lb, "Ports": [443],
                                            "Protocol": "HTTPS", "Certificate": mutual})
    sni = check("clb", "CreateListener", {"LoadBalancerId": lb, "Ports": [8443],
                                          "Protocol": "HTTPS", "SniSwitch": 1})
    tcp = check("clb", "CreateListener", {"LoadBalancerId": lb, "Ports": [9000],
                                          "Protocol": "TCP"})
    https_id, sni_id, tcp_id = (x["ListenerIds"][0] for x in (https, sni, tcp))
    check("clb", "ModifyListener", {"LoadBalancerId": lb, "ListenerId": https_id,
                                    "ListenerName": "main"})
    rule = check("clb", "CreateRule", {"LoadBalancerId": lb, "ListenerId": https_id,
                                       "Rules": [{"Domain": "www.example.com", "Url": "/"}]})
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=sni_id,
         Rules=[{"Domain": "api.example.com", "Url": "/", "Certificate": mutual}])
    loc = rule["LocationIds"][0]
    check("clb", "ModifyRule", {"LoadBalancerId": lb, "ListenerId": https_id, "LocationId": loc,
                                "Scheduler": "LEAST_CONN"})
    check("clb", "ModifyDomainAttributes", {"LoadBalancerId": lb, "ListenerId": https_id,
                                            "Domain": "www.example.com", "Http2": True})
    target = {"InstanceId": "ins-rs1", "Port": 80}
    check("clb", "RegisterTargets", {"LoadBalancerId": lb, "ListenerId": https_id,
                                     "LocationId": loc, "Targets": [target]})
    done(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=tcp_id,
         Targets=[{"EniIp": "10.0.0.7", "Port": 8080}])
    check("clb", "ModifyTargetWeight", {"LoadBalancerId": lb, "ListenerId": https_id,
                                        "LocationId": loc, "Targets": [target], "Weight": 40})
    check("clb", "DescribeTargets", {"LoadBalancerId": lb})
    check("clb", "DescribeTargetHealth", {"LoadBalancerIds": [lb]})
    check("clb", "DescribeListeners", {"LoadBalancerId": lb})
    check("clb", "DescribeLoadBalancers", {"AdditionalFields": ["TargetCount"]})
    check("clb", "DescribeLoadBalancerListByCertId", {"CertIds": [certs["server"]]})
    config = check("clb", "SetCustomizedConfigForLoadBalancer", {
        "OperationType": "ADD", "ConfigName": "tls", "ConfigContent": "ssl_protocols TLSv1.2;"})
    bind = {"UconfigId": config["ConfigId"], "BindList": [
        {"LoadBalancerId": lb, "ListenerId": https_id, "Domain": "www.example.com"}]}
    check("clb", "AssociateCustomizedConfig", bind)
    check("clb", "DescribeCustomizedConfigList", {"ConfigType": "CLB"})
    check("clb", "DescribeCustomizedConfigAssociateList", {"UconfigId": config["ConfigId"]})
    check("clb", "DisassociateCustomizedConfig", bind)
    task = check("clb", "DeregisterTargets", {"LoadBalancerId": lb, "ListenerId": https_id,
                                              "LocationId": loc, "Targets": [target]})
    check("clb", "DescribeTaskStatus", {"TaskId": task["RequestId"]})
    http_id = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80],
                   Protocol="HTTP").ListenerIds[0]
    source = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=http_id,
                  Rules=[{"Domain": "www.example.com", "Url": "/"}]).LocationIds[0]
    pair = {"LoadBalancerId": lb, "SourceListenerId": http_id, "TargetListenerId": https_id,
            "RewriteInfos": [{"SourceLocationId": source, "TargetLocationId": loc}]}
    check("clb", "ManualRewrite", pair)
    check("clb", "DescribeRewrite", {"LoadBalancerId": lb})
    check("clb", "DeleteRewrite", pair)
    check("clb", "AutoRewrite", {"LoadBalancerId": lb, "ListenerId": https_id})
    done(clb, "DeleteListener", LoadBalancerId=lb, ListenerId=http_id)
    check("clb", "DeleteRule", {"LoadBalancerId": lb, "ListenerId": https_id,
                                "LocationIds": [loc]})
    check("clb", "DeleteListener", {"LoadBalancerId": lb, "ListenerId": tcp_id})
    made = check("clb", "CreateLoadBalancer", {"LoadBalancerType": "INTERNAL",
                                               "VpcId": "vpc-12345678",
                                               "SubnetId": "subnet-12345678"})
    helpers.wait(clb, made["RequestId"])
    check("clb", "ModifyLoadBalancerAttributes", {"LoadBalancerId": made["LoadBalancerIds"][0],
                                                  "LoadBalancerName": "renamed"})
    check("clb", "SetLoadBalancerSecurityGroups", {"LoadBalancerId": made["LoadBalancerIds"][0],
                                                   "SecurityGroups": ["sg-12345678"]})
    emu.wait_for_tasks()
    check("clb", "DeleteLoadBalancer", {"LoadBalancerIds": made["LoadBalancerIds"]})
    check("ssl", "DescribeCertificateDetail", {"CertificateId": certs["server"]})
    check("ssl", "DescribeCertificateDetail", {"CertificateId": certs["ca"]})
    check("ssl", "DescribeCertificates", {})
    up = check("ssl", "UploadCertificate", {
        "CertificatePublicKey": emu.world.snapshot().certificates[certs["ca"]].certificate_pem,
        "CertificateType": "CA"})
    check("ssl", "ModifyCertificateAlias", {"CertificateId": up["CertificateId"],
                                            "Alias": "renamed"})
    check("ssl", "DeleteCertificate", {"CertificateId": up["CertificateId"]})
    again = check("ssl", "UploadCertificate", {
        "CertificatePublicKey": emu.world.snapshot().certificates[certs["ca"]].certificate_pem,
        "CertificateType": "CA"})
    task = check("ssl", "DeleteCertificate", {"CertificateId": again["CertificateId"],
                                              "IsCheckResource": True})
    check("ssl", "DescribeDeleteCertificatesTaskResult", {"TaskIds": [task["TaskId"]]})
    assert checked == {name for _, name in ACTIONS}
    assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 2
