"""The world: persisted atomically (0600) and reloaded, snapshots, change events, recovery of
interrupted tasks, one emulator per data directory."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
    InstanceSpec,
    WorldFileError,
    worldfile,
)
from mtlsform.emulator.world import LoadBalancer, Task, World, WorldState
from tests.emulator import helpers
from tests.emulator.helpers import call, done


def test_world_survives_a_restart(tmp_path: Path, pki: dict) -> None:
    config = EmulatorConfig(data_dir=tmp_path / "d", task_delay=0.01, rate_limit=None)
    with Emulator(config) as emu:
        clb, ssl = helpers.clb(emu), helpers.ssl(emu)
        cert = call(ssl, "UploadCertificate", CertificatePublicKey=pki["server"].cert,
                    CertificatePrivateKey=pki["server"].key).CertificateId
        lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
        task = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                    Certificate={"CertId": cert})
        before = emu.world.snapshot()
    path = tmp_path / "d" / "world.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700
    assert "BEGIN PRIVATE KEY" in path.read_text()  # it is the cloud's store: keys are kept
    with Emulator(config) as emu:
        clb = helpers.clb(emu)
        after = emu.world.snapshot()
        assert after.load_balancers == before.load_balancers
        assert after.certificates == before.certificates
        assert call(clb, "DescribeTaskStatus", TaskId=task.RequestId).Status == 0
        assert call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners[0].Certificate.CertId \
            == cert


def test_snapshots_are_copies_and_changes_are_announced(emu: Emulator, clb: Any) -> None:
    seen: list[int] = []
    unsubscribe = emu.world.subscribe(seen.append)
    start = emu.world.version
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(emu.world.wait_for_change(start, 30)))
    waiter.start()
    lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
    waiter.join(30)
    assert woke and woke[0] > start
    assert seen and seen == sorted(seen) and seen[-1] == emu.world.version
    snap = emu.world.snapshot()
    assert snap.version == emu.world.version
    snap.load_balancers[lb].name = "changed"
    assert emu.world.snapshot().load_balancers[lb].name != "changed"
    unsubscribe()
    count = len(seen)
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol="HTTP")
    assert len(seen) == count
    assert emu.world.wait_for_change(emu.world.version, timeout=0.01) == emu.world.version


def test_a_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    saved: list[int] = []
    world = World(WorldState(), persist=lambda state: saved.append(state.version))
    with pytest.raises(RuntimeError), world.transaction() as state:
        state.load_balancers["lb-x"] = LoadBalancer("lb-x", "ap-guangzhou", "x", "OPEN",
                                                    "127.64.0.1", "now")
        raise RuntimeError("half-way")
    assert world.snapshot().load_balancers == {} and world.version == 0 and saved == []


def test_interrupted_tasks_are_settled_on_load(tmp_path: Path) -> None:
    state = WorldState()
    state.load_balancers["lb-aaaaaaaa"] = LoadBalancer("lb-aaaaaaaa", "ap-guangzhou", "a", "OPEN",
                                                       "127.64.0.1", "now", status=0)
    state.tasks["t-create"] = Task("t-create", "CreateLoadBalancer", ["lb-aaaaaaaa"], 1.0, 2.0)
    state.tasks["t-listener"] = Task("t-listener", "CreateListener", ["lb-aaaaaaaa"], 1.0, 2.0)
    (tmp_path / "d").mkdir()
    worldfile.save(tmp_path / "d" / "world.json", state)
    with Emulator(EmulatorConfig(data_dir=tmp_path / "d", rate_limit=None)) as emu:
        clb = helpers.clb(emu)
        assert call(clb, "DescribeTaskStatus", TaskId="t-create").Status == 0
        failed = call(clb, "DescribeTaskStatus", TaskId="t-listener")
        assert failed.Status == 1 and "stopped before the task finished" in failed.Message
        assert call(clb, "DescribeLoadBalancers").LoadBalancerSet[0].Status == 1


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"format_version": 99, "world": {}}), "newer"),
    (json.dumps({"format_version": 1, "world": {"load_balancers": {"x": 5}}}), "inconsistent"),
    (json.dumps([1, 2]), "not an emulator world file"),
])
def test_a_bad_world_file_is_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "world.json").write_text(text)
    with pytest.raises(WorldFileError, match=message):
        Emulator(EmulatorConfig(data_dir=tmp_path)).start()
    with Emulator(EmulatorConfig(data_dir=tmp_path / "fresh")):
        pass  # and the lock was released: another emulator can start elsewhere or here later


def test_one_emulator_per_data_directory(emu: Emulator) -> None:
    with pytest.raises(EmulatorConfigError, match="another emulator"):
        Emulator(EmulatorConfig(data_dir=emu.config.data_dir)).start()


def test_declared_instances_get_loopback_addresses(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path, rate_limit=None, instances=(
        InstanceSpec("ins-web3", "web-3"), InstanceSpec("ins-db1", "db-1", "127.32.9.9"),
        InstanceSpec("ins-rs2", "renamed")))
    with Emulator(config) as emu:
        instances = emu.world.snapshot().instances
        assert {i: (x.name, x.private_ip) for i, x in instances.items()} == {
            "ins-rs1": ("rs-1", "127.32.0.1"), "ins-rs2": ("renamed", "127.32.0.2"),
            "ins-web3": ("web-3", "127.32.0.3"), "ins-db1": ("db-1", "127.32.9.9")}
        clb = helpers.clb(emu)
        lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
        lst = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[22],
                   Protocol="TCP").ListenerIds[0]
        done(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=lst,
             Targets=[{"InstanceId": "ins-db1", "Port": 5432}])
    moved = config.with_changes(instances=(InstanceSpec("ins-db1", "db-1", "127.32.8.8"),))
    with Emulator(moved) as emu:
        target = emu.world.snapshot().load_balancers[lb].listeners[lst].targets[0]
        assert target.ip == "127.32.8.8"
    clash = config.with_changes(instances=(InstanceSpec("ins-x1", "x", "127.32.0.1"),))
    with pytest.raises(EmulatorConfigError, match="already ins-rs1's"):
        Emulator(clash).start()
