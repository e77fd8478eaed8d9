"""ManualRewrite, AutoRewrite, DescribeRewrite, DeleteRewrite through the SDK: the redirect is
read back in DescribeListeners' RewriteTarget, one redirect per rule, no chains, documented
errors, and a deleted target rule takes its redirect with it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import call, done, error_of

WWW = {"Domain": "www.example.com", "Url": "/"}


@pytest.fixture
def pair(clb: Any, certs: dict, lb: str) -> dict[str, str]:
    https = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                 Certificate={"SSLMode": "UNIDIRECTIONAL",
                              "CertId": certs["server"]}).ListenerIds[0]
    http = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80],
                Protocol="HTTP").ListenerIds[0]
    target = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
                  Rules=[WWW]).LocationIds[0]
    source = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=http,
                  Rules=[WWW]).LocationIds[0]
    return {"lb": lb, "https": https, "http": http, "target": target, "source": source}


def _code(exc: Any) -> str:
    return str(exc).split("code:")[1].split(" ")[0]


def _manual(p: dict[str, str], **info: Any) -> dict[str, Any]:
    return {"LoadBalancerId": p["lb"], "SourceListenerId": p["http"],
            "TargetListenerId": p["https"],
            "RewriteInfos": [{"SourceLocationId": p["source"], "TargetLocationId": p["target"],
                              **info}]}


def _rewrite_of(clb: Any, p: dict[str, str]) -> Any:
    (lst,) = call(clb, "DescribeListeners", LoadBalancerId=p["lb"],
                  ListenerIds=[p["http"]]).Listeners
    (rule,) = [r for r in lst.Rules if r.LocationId == p["source"]]
    return rule.RewriteTarget


def test_manual_rewrite_is_read_back_and_deleted(clb: Any, pair: dict[str, str]) -> None:
    done(clb, "ManualRewrite", **_manual(pair, RewriteCode=307, TakeUrl=True,
                                         SourceDomain="www.example.com"))
    target = _rewrite_of(clb, pair)
    assert (target.TargetListenerId, target.TargetLocationId, target.RewriteCode,
            target.TakeUrl, target.RewriteType) == (pair["https"], pair["target"], 307, True,
                                                    "Manual")
    (listed,) = call(clb, "DescribeRewrite", LoadBalancerId=pair["lb"]).RewriteSet
    assert listed.LocationId == pair["source"] and listed.RewriteTarget.RewriteCode == 307
    assert call(clb, "DescribeRewrite", LoadBalancerId=pair["lb"],
                SourceListenerIds=[pair["https"]]).RewriteSet == []
    done(clb, "DeleteRewrite", **_manual(pair))
    assert _rewrite_of(clb, pair).TargetLocationId is None
    exc = error_of(clb, "DeleteRewrite", **_manual(pair))
    assert _code(exc) == "InvalidParameter.SomeRewriteNotFound"


def test_one_redirect_per_rule_and_no_chains(clb: Any, pair: dict[str, str]) -> None:
    done(clb, "ManualRewrite", **_manual(pair))
    assert _rewrite_of(clb, pair).RewriteCode == 301  # the emulator's default
    exc = error_of(clb, "ManualRewrite", **_manual(pair))
    assert _code(exc) == "InvalidParameter.RewriteAlreadyExist"
    backwards = {"LoadBalancerId": pair["lb"], "SourceListenerId": pair["https"],
                 "TargetListenerId": pair["http"],
                 "RewriteInfos": [{"SourceLocationId": pair["target"],
                                   "TargetLocationId": pair["source"]}]}
    exc = error_of(clb, "ManualRewrite", **backwards)
    assert _code(exc) == "InvalidParameter.RewriteAlreadyExist"
    assert "redirects itself" in str(exc)


@pytest.mark.parametrize(("info", "code", "words"), [
    ({"RewriteCode": 308, "TakeUrl": False, "SourceDomain": "www.example.com"},
     "InvalidParameterValue", "301, 302, 307"),
    ({"RewriteCode": 301}, "MissingParameter", "TakeUrl"),
    ({"RewriteCode": 301, "TakeUrl": False, "SourceDomain": "api.example.com"},
     "InvalidParameterValue", "not the domain"),
])
def test_manual_rewrite_refuses_bad_infos(clb: Any, pair: dict[str, str], info: dict,
                                          code: str, words: str) -> None:
    exc = error_of(clb, "ManualRewrite", **_manual(pair, **info))
    assert _code(exc) == code and words in str(exc)
    assert _rewrite_of(clb, pair).TargetLocationId is None


def test_unknown_rule_and_same_listener(clb: Any, pair: dict[str, str]) -> None:
    bad = _manual(pair)
    bad["RewriteInfos"][0]["TargetLocationId"] = "loc-00000000"
    assert _code(error_of(clb, "ManualRewrite", **bad)) == "InvalidParameter.LocationNotFound"
    same = {**_manual(pair), "TargetListenerId": pair["http"]}
    assert _code(error_of(clb, "ManualRewrite", **same)) == "InvalidParameterValue"


def test_deleting_the_target_rule_removes_the_redirect(clb: Any, pair: dict[str, str]) -> None:
    done(clb, "ManualRewrite", **_manual(pair))
    done(clb, "DeleteRule", LoadBalancerId=pair["lb"], ListenerId=pair["https"],
         LocationIds=[pair["target"]])
    assert _rewrite_of(clb, pair).TargetLocationId is None


def test_auto_rewrite_makes_the_http_listener(clb: Any, certs: dict, lb: str) -> None:
    https = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                 Certificate={"SSLMode": "UNIDIRECTIONAL",
                              "CertId": certs["server"]}).ListenerIds[0]
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
         Rules=[WWW, {"Domain": "www.example.com", "Url": "/api"}])
    done(clb, "AutoRewrite", LoadBalancerId=lb, ListenerId=https)
    listeners = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners
    (http,) = [x for x in listeners if x.Port == 80]
    assert http.Protocol == "HTTP"
    assert sorted((r.Url, r.BeAutoCreated, r.RewriteTarget.RewriteCode, r.RewriteTarget.RewriteType)
                  for r in http.Rules) == [("/", True, 302, "Auto"), ("/api", True, 302, "Auto")]
    exc = error_of(clb, "AutoRewrite", LoadBalancerId=lb, ListenerId=http.ListenerId)
    assert _code(exc) == "InvalidParameterValue"
