"""Destroying a load balancer drops what its delete took with it (listeners, rules, targets)
from the state in the same update as its own record: the state updates of a destroy are
counted, and do not grow with the children. Checked through real applies and destroys on the
embedded emulator; the state is empty after, and so is the cloud."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtlsform.apply.statewriter import StateWriter
from mtlsform.sensitive import Sensitive
from mtlsform.session import open_session
from mtlsform.stack import load_stack
from tests.engine.stacks import fleet_stack, write


def _destroy_counting(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    stack, diagnostics = load_stack(path, environ=os.environ)
    assert stack is not None, [d.format() for d in diagnostics]
    with open_session(stack, operation="apply") as session:
        result, _ = session.apply(session.plan(), p12_password=Sensitive("unused"))
        assert result.ok, result.failed
    updates = []
    real_update = StateWriter.update

    def counted(self, change, **options):  # the real update, counted
        updates.append(1)
        return real_update(self, change, **options)

    with open_session(stack, operation="destroy") as session:
        plan = session.plan(destroy=True)
        monkeypatch.setattr(StateWriter, "update", counted)
        result, _ = session.apply(plan, p12_password=Sensitive("unused"))
        monkeypatch.setattr(StateWriter, "update", real_update)
        assert result.ok, result.failed
        left = list(session.state.resources)
        lbs = session.provider_context.sdk_client("clb").call_json(
            "DescribeLoadBalancers", {})["Response"]["LoadBalancerSet"]
    return {"destroyed": len(result.succeeded), "updates": len(updates),
            "left": len(left), "load_balancers": len(lbs)}


def test_a_destroy_drops_the_children_with_their_load_balancer(clean, monkeypatch):
    small = _destroy_counting(write(clean, "small.yaml", fleet_stack(1, 1, 2, 2, name="small")),
                              monkeypatch)
    large = _destroy_counting(write(clean, "large.yaml", fleet_stack(1, 3, 8, 4, name="large")),
                              monkeypatch)
    assert large["destroyed"] > 8 * small["destroyed"] / 2
    assert small["left"] == large["left"] == 0
    assert small["load_balancers"] == large["load_balancers"] == 0
    # the same state updates for 1 listener of 2 rules and for 3 listeners of 8 rules each:
    # the CLB's delete, the uploads' and the local certificates'; none per child
    assert small["updates"] == large["updates"], (small, large)
    assert large["updates"] < small["destroyed"]
