"""World versions and their persistence: copy-on-write transactions share what they did not
touch and never change a committed version; the background writer coalesces saves, always
writes the newest version, reports a disk that fails, and is flushed before a simulated crash."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import Emulator, FaultConfig, WorldFileError, worldfile
from mtlsform.emulator.dispatch import Api
from mtlsform.emulator.faults import Faults, RateLimiter
from mtlsform.emulator.tasks import TaskRunner
from mtlsform.emulator.world import (
    Listener,
    LoadBalancer,
    Rule,
    Target,
    World,
    WorldState,
)
from mtlsform.emulator.worlddraft import shared_values
from mtlsform.emulator.worldwriter import WorldWriter
from tests.emulator.helpers import call, done


def _state() -> WorldState:
    """Two load balancers of two HTTP listeners, each with one rule and one target."""
    state = WorldState()
    for n in (1, 2):
        lb = LoadBalancer(f"lb-{n}", "ap-guangzhou", f"lb{n}", "OPEN", f"127.64.0.{n}", "now")
        for port in (80, 81):
            lst = Listener(f"lbl-{n}{port}", "HTTP", port)
            lst.rules["loc-1"] = Rule("loc-1", "www.example.com", "/",
                                      targets=[Target("ENI", None, "127.32.9.9", 80)])
            lb.listeners[lst.listener_id] = lst
        state.load_balancers[lb.lb_id] = lb
    return state


def test_a_write_copies_only_the_listener_it_changes() -> None:
    world = World(_state())
    old = world.committed()
    held = world.snapshot()
    with world.transaction() as state:
        state.load_balancers["lb-1"].listeners["lbl-180"].rules["loc-1"].targets[0].weight = 55
    new = world.committed()
    assert new.version == old.version + 1
    assert new.load_balancers["lb-2"] is old.load_balancers["lb-2"]
    assert new.load_balancers["lb-1"] is not old.load_balancers["lb-1"]
    assert new.load_balancers["lb-1"].listeners["lbl-181"] is \
        old.load_balancers["lb-1"].listeners["lbl-181"]
    assert new.load_balancers["lb-1"].listeners["lbl-180"].rules["loc-1"].targets[0].weight == 55
    # Versions already handed out are as they were.
    for version in (old, held):
        assert version.load_balancers["lb-1"].listeners["lbl-180"].rules["loc-1"] \
            .targets[0].weight == 10
    assert type(new.load_balancers) is dict and type(new.load_balancers["lb-1"].listeners) is dict


def test_a_failed_transaction_leaves_the_committed_version_as_it_was() -> None:
    world = World(_state())
    old = world.committed()
    with pytest.raises(RuntimeError), world.transaction() as state:
        lst = state.load_balancers["lb-1"].listeners["lbl-180"]
        lst.rules["loc-1"].url = "/changed"
        del state.load_balancers["lb-2"]
        raise RuntimeError("half-way")
    assert world.committed() is old and world.version == 0
    assert old.load_balancers["lb-1"].listeners["lbl-180"].rules["loc-1"].url == "/"
    assert world.snapshot() == _state()


def test_what_a_draft_hands_out_is_its_own(tmp_path: Path) -> None:
    world = World(_state())
    old = world.committed()
    with world.transaction() as state:
        for lb in state.load_balancers.values():
            for lst in lb.listeners.values():
                for rule in lst.rules.values():
                    rule.targets[0].weight = 99
    assert all(rule.targets[0].weight == 10 for lb in old.load_balancers.values()
               for lst in lb.listeners.values() for rule in lst.rules.values())
    assert all(rule.targets[0].weight == 99 for lb in world.committed().load_balancers.values()
               for lst in lb.listeners.values() for rule in lst.rules.values())


def test_changing_a_shared_object_in_place_is_caught() -> None:
    """The check the emulator tests run with (conftest): read-only scans yield shared objects."""
    world = World(_state())
    with pytest.raises(AssertionError, match="changed a committed version"), \
            world.transaction() as state:
        for lb in shared_values(state.load_balancers):
            lb.name = "renamed"


def test_the_file_holds_what_the_world_holds(emu: Emulator, clb: Any, certs: dict) -> None:
    lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
    lst = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
               Certificate={"SSLMode": "MUTUAL", "CertId": certs["server"],
                            "CertCaId": certs["ca"]}).ListenerIds[0]
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=lst,
         Rules=[{"Domain": f"h{n}.example.com", "Url": "/"} for n in range(3)])
    call(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=lst, ListenerName="renamed")
    emu.wait_for_tasks()
    emu.world.flush()
    live = emu.world.committed()
    text = (emu.config.data_dir / worldfile.FILE_NAME).read_text()
    assert text == worldfile.dumps(live)  # the writer's incremental encoding, byte for byte
    assert worldfile.load(emu.config.data_dir / worldfile.FILE_NAME) == live


class _GatedSave:
    """A save that records versions and holds the first one until released."""

    def __init__(self, fail: int = 0) -> None:
        self.saved: list[int] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, path: Path, state: WorldState) -> None:
        self.started.set()
        self.release.wait(30)
        if self.fail:
            self.fail -= 1
            raise OSError(28, "No space left on device")
        self.saved.append(state.version)
        worldfile.save(path, state)


def _version(n: int) -> WorldState:
    state = _state()
    state.version = n
    return state


def test_the_writer_coalesces_a_burst_and_writes_the_newest(tmp_path: Path) -> None:
    save = _GatedSave()
    writer = WorldWriter(tmp_path / "world.json", save=save)
    writer.submit(_version(1))
    assert save.started.wait(30)  # version 1 is being saved ...
    for n in range(2, 11):  # ... while nine more arrive
        writer.submit(_version(n))
    save.release.set()
    writer.flush()
    assert save.saved == [1, 10]
    assert worldfile.load(tmp_path / "world.json").version == 10
    writer.close()
    writer.submit(_version(11))  # after close: saved at once
    assert save.saved == [1, 10, 11] and writer.saves == 3


def test_a_failed_save_is_retried_and_reported(tmp_path: Path) -> None:
    save = _GatedSave(fail=1)
    save.release.set()
    writer = WorldWriter(tmp_path / "world.json", save=save)
    writer.submit(_version(1))
    writer.flush()  # the background save failed; flush saved it again
    assert save.saved == [1]
    save.fail = 5
    writer.submit(_version(2))  # accepted; its save fails in the background
    with pytest.raises(WorldFileError, match="No space left on device"):
        writer.flush()
    with pytest.raises(WorldFileError, match="No space left on device"):
        writer.submit(_version(3))  # now saved at once, and refused when that fails
    assert worldfile.load(tmp_path / "world.json").version == 1  # the old file is intact
    save.fail = 0
    writer.close()  # one more attempt on close, which works now: the newest accepted version
    assert save.saved == [1, 2]


def test_the_world_refuses_writes_while_the_disk_refuses_them(tmp_path: Path) -> None:
    save = _GatedSave(fail=100)
    save.release.set()
    writer = WorldWriter(tmp_path / "world.json", save=save)
    world = World(_state(), persist=writer.submit, flush=writer.flush)
    with world.transaction() as state:
        state.load_balancers["lb-1"].name = "one"  # committed; saved in the background: fails
    with pytest.raises(WorldFileError):
        world.flush()
    with pytest.raises(WorldFileError), world.transaction() as state:
        state.load_balancers["lb-1"].name = "two"
    assert world.version == 1 and world.committed().load_balancers["lb-1"].name == "one"
    save.fail = 0
    with world.transaction() as state:
        state.load_balancers["lb-1"].name = "three"
    writer.close()
    saved = worldfile.load(tmp_path / "world.json")
    assert saved.version == 2 and saved.load_balancers["lb-1"].name == "three"


def test_a_simulated_crash_exits_only_once_the_world_is_saved() -> None:
    events: list[tuple[str, int]] = []
    world = World(WorldState(), persist=lambda state: events.append(("persist", state.version)),
                  flush=lambda: events.append(("flush", world.version)))
    runner = TaskRunner(world, delay=3600)
    api = Api(world, runner, Faults(FaultConfig(crash_after=1)), RateLimiter(None),
              on_crash=lambda: events.append(("crash", world.version)))
    api.call(version="2018-03-17", action="CreateLoadBalancer", scope_service="clb",
             region="ap-guangzhou", params={"LoadBalancerType": "OPEN"}, request_id="req-1")
    # Accepted (version 1), its task finished at once (version 2), saved, then the crash.
    assert events == [("persist", 1), ("persist", 2), ("flush", 2), ("crash", 2)]
