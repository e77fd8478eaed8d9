"""Through the engine: each CLB's writes hold its lane one at a time, different CLBs' lanes are
busy at once, no write waits on a gate, and the targets of a rule still share calls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtlsform.sensitive import Sensitive
from mtlsform.session import open_session
from mtlsform.stack import load_stack
from tests.engine.stacks import fleet_stack, write


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("MTLSFORM_", "TENCENTCLOUD_")):
            monkeypatch.delenv(name)


def apply_fleet(path: Path, **options: object) -> tuple[dict[str, int], object]:
    stack, diagnostics = load_stack(path, environ=os.environ)
    assert stack is not None, [d.format() for d in diagnostics]
    with open_session(stack, operation="apply") as session:
        plan = session.plan()
        session.provider_context.emulator.reset_stats()
        gates = session.provider.write_gates
        gates.reset_occupancy()
        result, _ = session.apply(plan, p12_password=Sensitive("unused"), **options)
        assert result.ok, result.failed
        stats = session.provider_context.emulator_stats()
        assert not session.plan().has_changes
    busy = sum(per.get("FailedOperation.ResourceInOperating", 0)
               for per in stats.get("errors", {}).values())
    assert busy == 0  # no write ever met a CLB busy with another task
    return stats["calls"], gates.occupancy()


def test_two_clbs_are_written_at_once_and_each_one_write_at_a_time(tmp_path: Path) -> None:
    path = write(tmp_path, "fleet.yaml", fleet_stack(2, 1, 2, 3))
    calls, occupancy = apply_fleet(path)
    writes = {a: n for a, n in calls.items() if not a.startswith("Describe")}
    assert writes == {
        "UploadCertificate": 2,  # the server certificate and the client CA
        "CreateLoadBalancer": 2, "CreateListener": 2, "CreateRule": 4,
        "RegisterTargets": 4,  # three backends of a rule in one call
    }
    assert occupancy.peak_per_load_balancer() == 1
    assert occupancy.peak_together() == 2
    assert occupancy.waits == 0  # no worker slept on a gate


def test_one_global_lane_writes_one_clb_at_a_time(tmp_path: Path) -> None:
    path = write(tmp_path, "fleet.yaml", fleet_stack(2, 1, 2, 3))
    calls, occupancy = apply_fleet(path, lanes="global")
    assert calls["RegisterTargets"] == 4
    assert occupancy.peak_together() == 1
    assert occupancy.waits == 0
