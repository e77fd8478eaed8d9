"""RegisterTargets, DeregisterTargets, ModifyTargetWeight, DescribeTargets, DescribeTargetHealth
through the SDK: rules vs listeners, CVM instances vs ENI IPs, 20 per call, 100 per rule."""

from __future__ import annotations

from typing import Any

import pytest

from mtlsform.emulator import Emulator
from tests.emulator.helpers import call, done, error_of

RS1 = {"InstanceId": "ins-rs1", "Port": 80}
RS2 = {"InstanceId": "ins-rs2", "Port": 80}


@pytest.fixture
def site(clb: Any, lb: str) -> dict[str, str]:
    http = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80],
                Protocol="HTTP").ListenerIds[0]
    loc = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=http,
               Rules=[{"Domain": "www.example.com", "Url": "/"}]).LocationIds[0]
    tcp = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[5432],
               Protocol="TCP").ListenerIds[0]
    return {"lb": lb, "http": http, "loc": loc, "tcp": tcp}


def _code(exc: Any) -> str:
    return str(exc).split("code:")[1].split(" ")[0]


def _weights(clb: Any, site: dict) -> dict[str, int]:
    rules = call(clb, "DescribeTargets", LoadBalancerId=site["lb"],
                 ListenerIds=[site["http"]]).Listeners[0].Rules
    return {t.InstanceId or t.PrivateIpAddresses[0]: t.Weight for t in rules[0].Targets}


@pytest.mark.parametrize(("fields", "code"), [
    ({"Targets": [RS1]}, "MissingParameter"),  # an L7 listener needs the rule
    ({"LocationId": "@loc", "Targets": [{"InstanceId": "ins-nope", "Port": 80}]},
     "InvalidParameter"),
    ({"LocationId": "@loc", "Targets": [{**RS1, "EniIp": "10.0.0.1"}]}, "InvalidParameter"),
    ({"LocationId": "@loc", "Targets": [{"Port": 80}]}, "MissingParameter"),
    ({"LocationId": "@loc", "Targets": [{"EniIp": "10.0.0.300", "Port": 80}]},
     "InvalidParameterValue"),
    ({"LocationId": "@loc", "Targets": [{"EniIp": f"10.0.0.{n}", "Port": 80}
                                        for n in range(21)]}, "LimitExceeded"),
    ({"LocationId": "@loc", "Targets": [RS1, RS1]}, "InvalidParameterValue.Duplicate"),
    ({"LocationId": "@loc", "Targets": [{**RS1, "Weight": 101}]}, "InvalidParameterValue.Range"),
    ({"LocationId": "@loc", "Targets": [{"InstanceId": "ins-rs1"}]}, "MissingParameter"),
    ({"LocationId": "@loc", "Targets": []}, "MissingParameter"),
    ({"LocationId": "loc-00000000", "Targets": [RS1]}, "InvalidParameter.LocationNotFound"),
    ({"Domain": "www.example.com", "Url": "/other", "Targets": [RS1]},
     "InvalidParameter.LocationNotFound"),
])
def test_register_refusals(clb: Any, site: dict, fields: dict, code: str) -> None:
    if fields.get("LocationId") == "@loc":
        fields = {**fields, "LocationId": site["loc"]}
    exc = error_of(clb, "RegisterTargets", LoadBalancerId=site["lb"], ListenerId=site["http"],
                   **fields)
    assert _code(exc) == code, exc
    assert _weights(clb, site) == {}


def test_register_modify_deregister(clb: Any, site: dict) -> None:
    base = {"LoadBalancerId": site["lb"], "ListenerId": site["http"]}
    done(clb, "RegisterTargets", **base, LocationId=site["loc"],
         Targets=[RS1, {**RS2, "Weight": 30}])
    done(clb, "RegisterTargets", **base, Domain="www.example.com", Url="/",
         Targets=[{"EniIp": "10.1.2.3", "Port": 8080, "Weight": 0}])
    assert _weights(clb, site) == {"ins-rs1": 10, "ins-rs2": 30, "10.1.2.3": 0}
    exc = error_of(clb, "RegisterTargets", **base, LocationId=site["loc"], Targets=[RS1])
    assert _code(exc) == "InvalidParameterValue.Duplicate"
    done(clb, "ModifyTargetWeight", **base, LocationId=site["loc"], Weight=50,
         Targets=[RS1, {**RS2, "Weight": 5}])
    assert _weights(clb, site) == {"ins-rs1": 50, "ins-rs2": 5, "10.1.2.3": 0}
    done(clb, "ModifyTargetWeight", **base, LocationId=site["loc"],
         Targets=[{"EniIp": "10.1.2.3", "Port": 8080}])
    assert _weights(clb, site)["10.1.2.3"] == 10
    exc = error_of(clb, "ModifyTargetWeight", **base, LocationId=site["loc"],
                   Targets=[{"InstanceId": "ins-rs1", "Port": 81}])
    assert _code(exc) == "InvalidParameter"
    done(clb, "DeregisterTargets", **base, LocationId=site["loc"],
         Targets=[RS1, {"EniIp": "10.1.2.3", "Port": 8080}])
    assert _weights(clb, site) == {"ins-rs2": 5}
    exc = error_of(clb, "DeregisterTargets", **base, LocationId=site["loc"], Targets=[RS1])
    assert _code(exc) == "InvalidParameter"


def test_one_hundred_targets_per_rule(clb: Any, site: dict) -> None:
    base = {"LoadBalancerId": site["lb"], "ListenerId": site["http"], "LocationId": site["loc"]}
    for block in range(5):
        done(clb, "RegisterTargets", **base,
             Targets=[{"EniIp": f"10.0.{block}.{n}", "Port": 80} for n in range(1, 21)])
    exc = error_of(clb, "RegisterTargets", **base, Targets=[RS1])
    assert _code(exc) == "LimitExceeded"
    assert len(_weights(clb, site)) == 100


def test_l4_targets_and_describe_filters(clb: Any, site: dict) -> None:
    done(clb, "RegisterTargets", LoadBalancerId=site["lb"], ListenerId=site["tcp"],
         Targets=[{"InstanceId": "ins-rs1", "Port": 5432, "Tag": "db"},
                  {"EniIp": "10.9.9.9", "Port": 5432}])
    done(clb, "RegisterTargets", LoadBalancerId=site["lb"], ListenerId=site["http"],
         LocationId=site["loc"], Targets=[RS2])
    every = call(clb, "DescribeTargets", LoadBalancerId=site["lb"]).Listeners
    assert [(x.Protocol, x.Rules is None, x.Targets is None) for x in every] == [
        ("HTTP", False, True), ("TCP", True, False)]
    tcp = call(clb, "DescribeTargets", LoadBalancerId=site["lb"], Protocol="TCP").Listeners[0]
    assert sorted((t.Type, t.InstanceId, t.PrivateIpAddresses[0]) for t in tcp.Targets) == [
        ("CVM", "ins-rs1", "127.32.0.1"), ("ENI", None, "10.9.9.9")]
    by_ip = call(clb, "DescribeTargets", LoadBalancerId=site["lb"], Port=5432,
                 Filters=[{"Name": "private-ip-address", "Values": ["10.9.9.9"]}]).Listeners
    assert [t.PrivateIpAddresses for t in by_ip[0].Targets] == [["10.9.9.9"]]
    by_tag = call(clb, "DescribeTargets", LoadBalancerId=site["lb"], Port=5432,
                  Filters=[{"Name": "tag", "Values": ["db"]}]).Listeners
    assert [t.InstanceId for t in by_tag[0].Targets] == ["ins-rs1"]
    by_loc = call(clb, "DescribeTargets", LoadBalancerId=site["lb"], ListenerIds=[site["http"]],
                  Filters=[{"Name": "location-id", "Values": ["loc-00000000"]}]).Listeners
    assert by_loc[0].Rules == []
    exc = error_of(clb, "DescribeTargets", LoadBalancerId=site["lb"],
                   Filters=[{"Name": "zone", "Values": ["x"]}])
    assert _code(exc) == "InvalidParameterValue.InvalidFilter"


def test_target_health(emu: Emulator, clb: Any, site: dict) -> None:
    done(clb, "RegisterTargets", LoadBalancerId=site["lb"], ListenerId=site["http"],
         LocationId=site["loc"], Targets=[RS1, RS2])
    done(clb, "RegisterTargets", LoadBalancerId=site["lb"], ListenerId=site["tcp"],
         Targets=[{"InstanceId": "ins-rs1", "Port": 5432}])

    def health(**kw: Any) -> dict[tuple[str, str], str]:
        lbs = call(clb, "DescribeTargetHealth", LoadBalancerIds=[site["lb"]], **kw).LoadBalancers
        return {(rule.LocationId, t.TargetId): t.HealthStatusDetail
                for lst in lbs[0].Listeners for rule in lst.Rules for t in rule.Targets}

    assert set(health().values()) == {"Unknown"}
    emu.world.set_target_health(site["loc"], "127.32.0.1", 80, "Alive")
    emu.world.set_target_health(site["loc"], "127.32.0.2", 80, "Dead")
    assert health(LocationIds=[site["loc"]]) == {(site["loc"], "ins-rs1"): "Alive",
                                                 (site["loc"], "ins-rs2"): "Dead"}
    l4 = call(clb, "DescribeTargetHealth", LoadBalancerIds=[site["lb"]],
              ListenerIds=[site["tcp"]]).LoadBalancers[0].Listeners[0].Rules[0]
    assert (l4.LocationId, l4.Domain, l4.Url) == (site["tcp"], None, None)
    done(clb, "ModifyRule", LoadBalancerId=site["lb"], ListenerId=site["http"],
         LocationId=site["loc"], HealthCheck={"HealthSwitch": 0})
    assert set(health(ListenerIds=[site["http"]]).values()) == {"Close"}
    exc = error_of(clb, "DescribeTargetHealth", LoadBalancerIds=["lb-00000000"])
    assert _code(exc) == "InvalidParameter.LBIdNotFound"
