"""CreateRule, ModifyRule, ModifyDomainAttributes, DeleteRule through the SDK: L7 only, unique
domain+URL, 50 per listener, per-domain certificates under SNI, the default domain."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import call, done, error_of

WWW = {"Domain": "www.example.com", "Url": "/"}


@pytest.fixture
def https(clb: Any, certs: dict, lb: str) -> str:
    return done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                Certificate={"SSLMode": "MUTUAL", "CertId": certs["server"],
                             "CertCaId": certs["ca"]}).ListenerIds[0]


@pytest.fixture
def sni(clb: Any, lb: str) -> str:
    return done(clb, "CreateListener", LoadBalancerId=lb, Ports=[8443], Protocol="HTTPS",
                SniSwitch=1).ListenerIds[0]


def _rules(clb: Any, lb: str, listener: str) -> list[Any]:
    (lst,) = call(clb, "DescribeListeners", LoadBalancerId=lb, ListenerIds=[listener]).Listeners
    return lst.Rules


def _code(exc: Any) -> str:
    return str(exc).split("code:")[1].split(" ")[0]


def test_rules_need_an_l7_listener(clb: Any, lb: str) -> None:
    tcp = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[22], Protocol="TCP").ListenerIds[0]
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=tcp, Rules=[WWW])
    assert _code(exc) == "InvalidParameterValue"
    assert exc.message == "This interface only support HTTP/HTTPS listener."


@pytest.mark.parametrize(("rules", "code"), [
    ([WWW, WWW], "InvalidParameterValue.Duplicate"),
    ([{"Url": "/"}], "MissingParameter"),
    ([{**WWW, "Domains": ["a.example.com"]}], "InvalidParameter"),
    ([{"Domain": "bad domain!", "Url": "/"}], "InvalidParameterValue"),
    ([{"Domain": "www.example.com", "Url": "no-slash"}], "InvalidParameterValue"),
    ([{**WWW, "SessionExpireTime": 5}], "InvalidParameterValue.Range"),
    ([{**WWW, "Scheduler": "RANDOM"}], "InvalidParameterValue"),
    ([{**WWW, "HealthCheck": {"CheckType": "TCP"}}], "InvalidParameterValue"),
    ([{**WWW, "HealthCheck": {"HttpCheckPath": "healthz"}}], "InvalidParameterValue"),
    ([{**WWW, "Certificate": {"CertId": "whatever"}}], "InvalidParameter"),
    ([], "MissingParameter"),
])
def test_create_rule_refusals(clb: Any, lb: str, https: str, rules: list, code: str) -> None:
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https, Rules=rules)
    assert _code(exc) == code, exc
    assert _rules(clb, lb, https) == []


def test_rule_defaults_and_fifty_rules_per_listener(clb: Any, lb: str, https: str) -> None:
    many = [{"Domain": "www.example.com", "Url": f"/p{n}"} for n in range(50)]
    made = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https, Rules=many)
    assert len(made.LocationIds) == 50 and len(set(made.LocationIds)) == 50
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
                   Rules=[{"Domain": "x.example.com", "Url": "/"}])
    assert _code(exc) == "LimitExceeded"
    first = _rules(clb, lb, https)[0]
    assert (first.Scheduler, first.ForwardType, first.SessionExpireTime) == ("WRR", "HTTP", 0)
    check = first.HealthCheck
    assert (check.HealthSwitch, check.CheckType, check.HttpCode, check.HttpCheckMethod,
            check.HttpCheckPath, check.TimeOut, check.IntervalTime) == (
        1, "HTTP", 31, "HEAD", "/", 2, 5)
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
                   Rules=[WWW | {"Url": "/p1"}])
    assert _code(exc) == "LimitExceeded"  # the quota is checked first


def test_http_listener_rules(clb: Any, lb: str) -> None:
    http = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80],
                Protocol="HTTP").ListenerIds[0]
    for extra in ({"Http2": True}, {"ForwardType": "HTTPS"}):
        exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=http,
                       Rules=[{**WWW, **extra}])
        assert _code(exc) == "InvalidParameterValue"
    loc = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=http,
               Rules=[{**WWW, "ForwardType": "HTTP"}]).LocationIds[0]
    done(clb, "ModifyRule", LoadBalancerId=lb, ListenerId=http, LocationId=loc,
         ForwardType="HTTPS")  # only effective on HTTPS listeners: ignored here
    assert _rules(clb, lb, http)[0].ForwardType == "HTTP"


def test_sni_certificates_per_domain(clb: Any, certs: dict, lb: str, https: str,
                                     sni: str) -> None:
    mutual_www = {"SSLMode": "MUTUAL", "CertId": certs["server"], "CertCaId": certs["ca"]}
    mutual_api = {"SSLMode": "MUTUAL", "CertId": certs["api"], "CertCaId": certs["ca"]}
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=sni, Rules=[WWW])
    assert _code(exc) == "MissingParameter"
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
                   Rules=[{**WWW, "Certificate": mutual_www}])
    assert _code(exc) == "InvalidParameter"
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=sni,
         Rules=[{**WWW, "Certificate": mutual_www},
                {"Domain": "api.example.com", "Url": "/", "Certificate": mutual_api},
                {"Domain": "www.example.com", "Url": "/static"}])
    by_url = {(r.Domain, r.Url): r for r in _rules(clb, lb, sni)}
    assert by_url[("www.example.com", "/static")].Certificate.CertId == certs["server"]
    assert by_url[("api.example.com", "/")].Certificate.CertId == certs["api"]
    exc = error_of(clb, "CreateRule", LoadBalancerId=lb, ListenerId=sni,
                   Rules=[{"Domain": "www.example.com", "Url": "/x", "Certificate": mutual_api}])
    assert _code(exc) == "InvalidParameter" and "ModifyDomainAttributes" in exc.message
    done(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=sni,
         Domain="www.example.com", Certificate=mutual_api)
    assert {r.Certificate.CertId for r in _rules(clb, lb, sni)} == {certs["api"]}
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https, Rules=[WWW])
    exc = error_of(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=https,
                   Domain="www.example.com", Certificate=mutual_api)
    assert _code(exc) == "InvalidParameter" and "ModifyListener" in exc.message
    exc = error_of(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=sni,
                   Domain="www.example.com",
                   Certificate={"SSLMode": "MUTUAL", "CertId": certs["api"]})
    assert _code(exc) == "MissingParameter"


def test_modify_rule(clb: Any, lb: str, https: str) -> None:
    made = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
                Rules=[WWW, {"Domain": "www.example.com", "Url": "/api"}])
    loc = made.LocationIds[0]
    done(clb, "ModifyRule", LoadBalancerId=lb, ListenerId=https, LocationId=loc, Url="/web",
         Scheduler="IP_HASH", SessionExpireTime=3600, ForwardType="HTTPS",
         HealthCheck={"HttpCheckPath": "/ready", "HttpCode": 2})
    rule = next(r for r in _rules(clb, lb, https) if r.LocationId == loc)
    assert (rule.Url, rule.Scheduler, rule.SessionExpireTime, rule.ForwardType) == (
        "/web", "IP_HASH", 3600, "HTTPS")
    assert (rule.HealthCheck.HttpCheckPath, rule.HealthCheck.HttpCode,
            rule.HealthCheck.HttpCheckMethod) == ("/ready", 2, "HEAD")
    exc = error_of(clb, "ModifyRule", LoadBalancerId=lb, ListenerId=https, LocationId=loc,
                   Url="/api")
    assert _code(exc) == "InvalidParameterValue.Duplicate"
    exc = error_of(clb, "ModifyRule", LoadBalancerId=lb, ListenerId=https,
                   LocationId="loc-00000000", Url="/z")
    assert _code(exc) == "InvalidParameter.LocationNotFound"
    exc = error_of(clb, "ModifyRule", LoadBalancerId=lb, ListenerId=https, LocationId=loc,
                   SessionExpireTime=29)
    assert _code(exc) == "InvalidParameterValue.Range"


def test_domains_rename_and_default_server(clb: Any, lb: str, https: str) -> None:
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
         Rules=[WWW, {"Domain": "www.example.com", "Url": "/a"},
                {"Domain": "api.example.com", "Url": "/"}])

    def defaults() -> set[str]:
        return {r.Domain for r in _rules(clb, lb, https) if r.DefaultServer}

    assert defaults() == {"www.example.com"}
    done(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=https,
         Domain="api.example.com", DefaultServer=True, Http2=True)
    assert defaults() == {"api.example.com"}
    assert [r.Http2 for r in _rules(clb, lb, https) if r.Domain == "api.example.com"] == [True]
    exc = error_of(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=https,
                   Domain="api.example.com", DefaultServer=False)
    assert _code(exc) == "InvalidParameter"
    done(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=https,
         Domain="www.example.com", NewDomain="web.example.com")
    assert sorted(r.Domain for r in _rules(clb, lb, https)) == [
        "api.example.com", "web.example.com", "web.example.com"]
    exc = error_of(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=https,
                   Domain="web.example.com", NewDomain="api.example.com")
    assert _code(exc) == "InvalidParameterValue.Duplicate"
    exc = error_of(clb, "ModifyDomainAttributes", LoadBalancerId=lb, ListenerId=https,
                   Domain="nowhere.example.com", Http2=True)
    assert _code(exc) == "InvalidParameter.LocationNotFound"


def test_delete_rule(clb: Any, lb: str, https: str) -> None:
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
         Rules=[WWW, {"Domain": "api.example.com", "Url": "/"}])
    for fields, code in (({"Domain": "www.example.com"}, "MissingParameter"), ({},
                         "MissingParameter"), ({"LocationIds": ["loc-00000000"]},
                                               "InvalidParameter.LocationNotFound"),
                         ({"Domain": "www.example.com", "Url": "/nope"},
                          "InvalidParameter.LocationNotFound")):
        exc = error_of(clb, "DeleteRule", LoadBalancerId=lb, ListenerId=https, **fields)
        assert _code(exc) == code
    done(clb, "DeleteRule", LoadBalancerId=lb, ListenerId=https, Domain="www.example.com",
         Url="/")
    (left,) = _rules(clb, lb, https)
    assert (left.Domain, left.DefaultServer) == ("api.example.com", True)
