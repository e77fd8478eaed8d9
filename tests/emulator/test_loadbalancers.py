"""CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, DescribeTaskStatus through the
SDK: creation as a task, idempotency, quotas, filters, regions, deletion checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import Emulator, EmulatorConfig
from tests.emulator import helpers
from tests.emulator.helpers import call, done, error_of, wait


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Emulator]:
    """Tasks that run until the test finishes them (wait_for_tasks), however slow the machine."""
    with Emulator(EmulatorConfig(data_dir=tmp_path / "slow", task_delay=3600,
                                 rate_limit=None)) as emu:
        yield emu


def test_a_new_load_balancer_is_creating_until_its_task_finishes(slow: Emulator) -> None:
    clb = helpers.clb(slow)
    resp = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", LoadBalancerName="web",
                Tags=[{"TagKey": "stack", "TagValue": "demo"}])
    (lb_id,) = resp.LoadBalancerIds
    assert lb_id.startswith("lb-") and len(lb_id) == 11
    first = call(clb, "DescribeLoadBalancers", LoadBalancerIds=[lb_id]).LoadBalancerSet[0]
    assert first.Status == 0
    busy = error_of(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[80], Protocol="HTTP")
    assert "code:FailedOperation.ResourceInOperating" in str(busy)
    assert f"Loadbalancer({lb_id}) is not in normal desState" in busy.message
    slow.wait_for_tasks()
    status = wait(clb, resp.RequestId)
    assert (status.Status, status.LoadBalancerIds, status.Message) == (0, [lb_id], None)
    assert call(clb, "DescribeTaskStatus", DealName=resp.DealName).Status == 0
    ready = call(clb, "DescribeLoadBalancers", LoadBalancerIds=[lb_id]).LoadBalancerSet[0]
    assert (ready.Status, ready.LoadBalancerName, ready.LoadBalancerType) == (1, "web", "OPEN")
    assert ready.Tags[0].TagKey == "stack" and ready.LoadBalancerVips[0].startswith("127.64.")
    assert ready.MasterZone.ZoneRegion == "ap-guangzhou" and ready.Forward == 1


def test_client_token_makes_creation_idempotent(clb: Any) -> None:
    first = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", ClientToken="tok-1")
    again = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", ClientToken="tok-1")
    assert again.LoadBalancerIds == first.LoadBalancerIds
    assert wait(clb, again.RequestId).Status == 0
    assert call(clb, "DescribeLoadBalancers").TotalCount == 1


def test_a_name_in_use_gets_a_generated_one_and_may_be_set_again(clb: Any) -> None:
    first = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
                 LoadBalancerName="web").LoadBalancerIds[0]
    second = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
                  LoadBalancerName="web").LoadBalancerIds[0]
    names = {x.LoadBalancerId: x.LoadBalancerName
             for x in call(clb, "DescribeLoadBalancers").LoadBalancerSet}
    assert names == {first: "web", second: second}  # the documented behaviour
    done(clb, "ModifyLoadBalancerAttributes", LoadBalancerId=second, LoadBalancerName="web")
    names = {x.LoadBalancerId: x.LoadBalancerName
             for x in call(clb, "DescribeLoadBalancers").LoadBalancerSet}
    assert names == {first: "web", second: "web"}  # names are not unique after creation


def test_internal_load_balancers_need_a_vpc_and_subnet(clb: Any) -> None:
    exc = error_of(clb, "CreateLoadBalancer", LoadBalancerType="INTERNAL")
    assert "code:MissingParameter" in str(exc) and "VpcId" in exc.message
    made = done(clb, "CreateLoadBalancer", LoadBalancerType="INTERNAL", VpcId="vpc-abcd1234",
                SubnetId="subnet-abcd1234")
    got = call(clb, "DescribeLoadBalancers", LoadBalancerType="INTERNAL").LoadBalancerSet
    assert [x.LoadBalancerId for x in got] == made.LoadBalancerIds
    assert (got[0].VpcId, got[0].SubnetId, got[0].VipIsp) == ("vpc-abcd1234",
                                                               "subnet-abcd1234", None)


def test_quota_of_one_hundred_per_network_type(clb: Any) -> None:
    for _ in range(5):
        call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", Number=20)
    exc = error_of(clb, "CreateLoadBalancer", LoadBalancerType="OPEN")
    assert "code:LimitExceeded" in str(exc)
    assert call(clb, "DescribeLoadBalancers", Limit=100).TotalCount == 100
    assert len(call(clb, "DescribeLoadBalancers").LoadBalancerSet) == 20  # default Limit
    call(clb, "CreateLoadBalancer", LoadBalancerType="INTERNAL", VpcId="vpc-1", SubnetId="subnet-1")


def test_chosen_vip(clb: Any) -> None:
    lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", Vip="127.64.9.9")
    got = call(clb, "DescribeLoadBalancers", LoadBalancerVips=["127.64.9.9"]).LoadBalancerSet
    assert [x.LoadBalancerId for x in got] == lb.LoadBalancerIds
    for vip in ("127.64.9.9", "10.0.0.1", "not-an-ip"):
        exc = error_of(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", Vip=vip)
        assert "code:InvalidParameterValue" in str(exc)


def test_describe_filters_order_and_pages(clb: Any) -> None:
    ids = {}
    for name, tag in (("alpha", "a"), ("beta", "b"), ("alphabet", "a")):
        ids[name] = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", LoadBalancerName=name,
                         Tags=[{"TagKey": "team", "TagValue": tag}]).LoadBalancerIds[0]

    def names(**kw: Any) -> list[str]:
        return [x.LoadBalancerName for x in call(clb, "DescribeLoadBalancers",
                                                 **kw).LoadBalancerSet]

    assert names() == ["alphabet", "beta", "alpha"]  # newest first
    assert names(OrderType=0) == ["alpha", "beta", "alphabet"]
    assert names(OrderBy="LoadBalancerName", OrderType=0) == ["alpha", "alphabet", "beta"]
    assert names(LoadBalancerName="alpha", OrderType=0) == ["alpha", "alphabet"]
    assert names(Filters=[{"Name": "tag:team", "Values": ["b"]}]) == ["beta"]
    assert names(Filters=[{"Name": "tag-key", "Values": ["team"]}], Limit=1, Offset=1) == ["beta"]
    assert names(SearchKey=ids["beta"]) == ["beta"]
    assert names(Domain=ids["alpha"]) == ["alpha"]
    page = call(clb, "DescribeLoadBalancers", Limit=1, Offset=2, OrderType=0)
    assert page.TotalCount == 3
    assert [x.LoadBalancerName for x in page.LoadBalancerSet] == ["alphabet"]
    exc = error_of(clb, "DescribeLoadBalancers", Filters=[{"Name": "colour", "Values": ["red"]}])
    assert "code:InvalidParameterValue.InvalidFilter" in str(exc)
    assert call(clb, "DescribeLoadBalancers", LoadBalancerIds=["lb-00000000"]).TotalCount == 0


def test_target_count_and_backend_ip_filters(clb: Any, lb: str) -> None:
    lst = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[22], Protocol="TCP")
    done(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=lst.ListenerIds[0],
         Targets=[{"InstanceId": "ins-rs2", "Port": 22}])
    got = call(clb, "DescribeLoadBalancers", AdditionalFields=["TargetCount"]).LoadBalancerSet
    assert got[0].TargetCount == 1
    assert call(clb, "DescribeLoadBalancers").LoadBalancerSet[0].TargetCount is None
    assert call(clb, "DescribeLoadBalancers", BackendPrivateIps=["127.32.0.2"]).TotalCount == 1
    assert call(clb, "DescribeLoadBalancers", BackendPrivateIps=["127.32.0.1"]).TotalCount == 0
    assert call(clb, "DescribeLoadBalancers", WithRs=0).TotalCount == 0


def test_load_balancers_belong_to_a_region(emu: Emulator, clb: Any, lb: str) -> None:
    shanghai = helpers.clb(emu, region="ap-shanghai")
    assert call(shanghai, "DescribeLoadBalancers").TotalCount == 0
    exc = error_of(shanghai, "DescribeListeners", LoadBalancerId=lb)
    assert "code:InvalidParameter.LBIdNotFound" in str(exc)


def test_delete_checks_and_cascades(slow: Emulator) -> None:
    clb = helpers.clb(slow)
    lb = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
    slow.wait_for_tasks()
    exc = error_of(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb, "lb-00000000"])
    assert "code:InvalidParameter.LBIdNotFound" in str(exc)
    lst = call(clb, "CreateListener", LoadBalancerId=lb, Ports=[7000], Protocol="TCP")
    slow.wait_for_tasks()
    call(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=lst.ListenerIds[0],
         Targets=[{"EniIp": f"10.0.0.{n}", "Port": 80} for n in range(1, 21)])
    slow.wait_for_tasks()
    exc = error_of(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb])
    assert "code:FailedOperation.TargetNumCheckRisk" in str(exc)
    resp = call(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb], ForceDelete=True)
    assert lb in slow.world.snapshot().load_balancers  # still there while the task runs
    slow.wait_for_tasks()
    assert wait(clb, resp.RequestId).Status == 0
    assert lb not in slow.world.snapshot().load_balancers
    assert call(clb, "DescribeLoadBalancers").TotalCount == 0


def test_task_status_needs_a_known_task(clb: Any) -> None:
    assert "code:MissingParameter" in str(error_of(clb, "DescribeTaskStatus"))
    exc = error_of(clb, "DescribeTaskStatus", TaskId="6f0e6b0e-0000-0000-0000-000000000000")
    assert "code:InvalidParameter" in str(exc)
