"""Asynchronous tasks: writes answer at once, land when their task finishes, keep the load
balancer busy meanwhile, and can be made to fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.emulator import helpers
from tests.emulator.helpers import call, error_of, wait


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Emulator]:
    """Tasks that never finish on their own: the test finishes them with wait_for_tasks()."""
    with Emulator(EmulatorConfig(data_dir=tmp_path / "slow", task_delay=3600,
                                 rate_limit=None)) as emu:
        yield emu


def _lb(emu: Emulator, clb: Any) -> str:
    lb = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
    emu.wait_for_tasks()
    return lb


def test_a_write_lands_when_its_task_finishes(slow: Emulator) -> None:
    clb = helpers.clb(slow)
    lb, other = _lb(slow, clb), _lb(slow, clb)
    version = slow.world.version
    task = call(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol="HTTP")
    assert task.ListenerIds[0].startswith("lbl-")
    assert call(clb, "DescribeTaskStatus", TaskId=task.RequestId).Status == 2
    assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 0
    for action, fields in (("CreateListener", {"Ports": [81], "Protocol": "HTTP"}),
                           ("DeleteListener", {"ListenerId": task.ListenerIds[0]}),
                           ("DeleteLoadBalancer", {})):
        fields = {"LoadBalancerIds": [lb]} if action == "DeleteLoadBalancer" else {
            "LoadBalancerId": lb, **fields}
        exc = error_of(clb, action, **fields)
        assert "code:FailedOperation.ResourceInOperating" in str(exc), action
    # Another load balancer is not held up.
    assert call(clb, "CreateListener", LoadBalancerId=other, Ports=[80], Protocol="HTTP")
    slow.wait_for_tasks()
    assert call(clb, "DescribeTaskStatus", TaskId=task.RequestId).Status == 0
    (listener,) = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners
    assert listener.ListenerId == task.ListenerIds[0]
    assert slow.world.version > version


def test_the_change_is_replayed_with_the_ids_it_announced(slow: Emulator, pki: dict) -> None:
    clb, ssl = helpers.clb(slow), helpers.ssl(slow)
    lb = _lb(slow, clb)
    lst = call(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
               SniSwitch=1).ListenerIds[0]
    slow.wait_for_tasks()
    rules = call(clb, "CreateRule", LoadBalancerId=lb, ListenerId=lst, Rules=[
        {"Domain": "www.example.com", "Url": "/",
         "Certificate": {"SSLMode": "MUTUAL", "CertName": "srv", "CertKey": pki["server"].key,
                         "CertContent": pki["server"].cert, "CertCaName": "ca",
                         "CertCaContent": pki["ca"].cert}}])
    assert call(ssl, "DescribeCertificates").TotalCount == 0  # uploaded with the change
    slow.wait_for_tasks()
    (rule,) = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners[0].Rules
    assert rule.LocationId == rules.LocationIds[0]
    ids = {c.CertificateId for c in call(ssl, "DescribeCertificates").Certificates}
    assert ids == {rule.Certificate.CertId, rule.Certificate.CertCaId}


def test_injected_task_failures(tmp_path: Path) -> None:
    faults = FaultConfig(task_failures=(("CreateListener", 1.0),))
    with Emulator(EmulatorConfig(data_dir=tmp_path, task_delay=0.01, rate_limit=None,
                                 faults=faults)) as emu:
        clb = helpers.clb(emu)
        lb = helpers.done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
        task = call(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol="HTTP")
        status = wait(clb, task.RequestId)
        assert status.Status == 1 and "CreateListener" in status.Message
        assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 0
        assert emu.stats()["tasks"]["failed"] == 1
        # The load balancer is free again after the failure.
        assert call(clb, "DeleteLoadBalancer", LoadBalancerIds=[lb]).RequestId


def test_a_failed_creation_leaves_no_load_balancer(tmp_path: Path) -> None:
    faults = FaultConfig(task_failures=(("*", 1.0),))
    with Emulator(EmulatorConfig(data_dir=tmp_path, task_delay=3600, rate_limit=None,
                                 faults=faults)) as emu:
        clb = helpers.clb(emu)
        made = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN")
        assert call(clb, "DescribeLoadBalancers").TotalCount == 1  # shown while creating
        emu.wait_for_tasks()
        status = wait(clb, made.RequestId)
        assert status.Status == 1 and status.Message
        assert call(clb, "DescribeLoadBalancers").TotalCount == 0


def test_stop_finishes_pending_tasks(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path, task_delay=3600, rate_limit=None)
    with Emulator(config) as emu:
        clb = helpers.clb(emu)
        made = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN")
    with Emulator(config) as emu:
        clb = helpers.clb(emu)
        assert call(clb, "DescribeTaskStatus", TaskId=made.RequestId).Status == 0
        assert call(clb, "DescribeLoadBalancers").LoadBalancerSet[0].Status == 1
