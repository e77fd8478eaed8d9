"""Layer-7 customized configurations through the official SDK: SetCustomizedConfigForLoadBalancer,
AssociateCustomizedConfig / DisassociateCustomizedConfig and the two Describe actions, with the
documented errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import call, done, error_of

STRICT = "ssl_protocols TLSv1.2 TLSv1.3;\nssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;"
WWW = {"Domain": "www.example.com", "Url": "/"}


@pytest.fixture
def https(clb: Any, certs: dict, lb: str) -> str:
    listener = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                    Certificate={"SSLMode": "MUTUAL", "CertId": certs["server"],
                                 "CertCaId": certs["ca"]}).ListenerIds[0]
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=listener, Rules=[WWW])
    return str(listener)


def _add(clb: Any, content: str = STRICT) -> str:
    return str(call(clb, "SetCustomizedConfigForLoadBalancer", OperationType="ADD",
                    ConfigName="tls", ConfigContent=content).ConfigId)


def test_a_config_is_made_changed_bound_listed_and_deleted(clb: Any, lb: str,
                                                           https: str) -> None:
    config_id = _add(clb)
    assert config_id.startswith("pz-") and len(config_id) == 11
    bind = [{"LoadBalancerId": lb, "ListenerId": https, "Domain": "www.example.com"}]
    call(clb, "AssociateCustomizedConfig", UconfigId=config_id, BindList=bind)
    (bound,) = call(clb, "DescribeCustomizedConfigAssociateList", UconfigId=config_id).BindList
    assert (bound.LoadBalancerId, bound.ListenerId, bound.Domain, bound.Protocol,
            bound.Vport) == (lb, https, "www.example.com", "HTTPS", 443)
    # a later rule of the same domain is a location of the same server: it shares the config
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
         Rules=[{"Domain": "www.example.com", "Url": "/api"}])
    assert call(clb, "DescribeCustomizedConfigAssociateList", UconfigId=config_id).TotalCount == 1
    exc = error_of(clb, "SetCustomizedConfigForLoadBalancer", OperationType="DELETE",
                   UconfigId=config_id)
    assert exc.code == "FailedOperation" and "still bound" in exc.message
    call(clb, "SetCustomizedConfigForLoadBalancer", OperationType="UPDATE", UconfigId=config_id,
         ConfigContent="ssl_protocols TLSv1 TLSv1.1 TLSv1.2;")
    listed = call(clb, "DescribeCustomizedConfigList", ConfigType="CLB",
                  Filters=[{"Name": "loadbalancer-id", "Values": [lb]}])
    assert [(c.UconfigId, c.ConfigContent) for c in listed.ConfigList] == [
        (config_id, "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;")]
    call(clb, "DisassociateCustomizedConfig", UconfigId=config_id, BindList=bind)
    assert call(clb, "DescribeCustomizedConfigAssociateList").TotalCount == 0
    call(clb, "SetCustomizedConfigForLoadBalancer", OperationType="DELETE", UconfigId=config_id)
    assert call(clb, "DescribeCustomizedConfigList", ConfigType="CLB").TotalCount == 0


@pytest.mark.parametrize(("content", "words"), [
    ("ssl_protocols TLSv1.2 SSLv3;", "ssl_protocols takes"),
    ("ssl_ciphers NOT-A-CIPHER;", "selects no cipher"),
    ("worker_processes 4;", "not supported"),
    ("ssl_protocols TLSv1.2", "statements"),
])
def test_bad_content_is_refused(clb: Any, content: str, words: str) -> None:
    exc = error_of(clb, "SetCustomizedConfigForLoadBalancer", OperationType="ADD",
                   ConfigName="x", ConfigContent=content)
    assert exc.code == "InvalidParameterValue" and words in exc.message


def test_bind_errors(clb: Any, lb: str, https: str) -> None:
    first, second = _add(clb), _add(clb)
    unknown = [{"LoadBalancerId": lb, "ListenerId": https, "Domain": "nope.example.com"}]
    exc = error_of(clb, "AssociateCustomizedConfig", UconfigId=first, BindList=unknown)
    assert exc.code == "InvalidParameter" and "not a domain" in exc.message
    bind = [{"LoadBalancerId": lb, "ListenerId": https, "Domain": "www.example.com"}]
    call(clb, "AssociateCustomizedConfig", UconfigId=first, BindList=bind)
    exc = error_of(clb, "AssociateCustomizedConfig", UconfigId=second, BindList=bind)
    assert exc.code == "InvalidParameter" and "already bound" in exc.message
    exc = error_of(clb, "DisassociateCustomizedConfig", UconfigId=second, BindList=bind)
    assert exc.code == "InvalidParameter"
    exc = error_of(clb, "SetCustomizedConfigForLoadBalancer", OperationType="UPDATE",
                   UconfigId="pz-00000000", ConfigContent="ssl_protocols TLSv1.2;")
    assert exc.code == "InvalidParameter" and "not found" in exc.message
