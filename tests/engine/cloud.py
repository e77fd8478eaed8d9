"""What engine tests read of the emulated cloud through the SDK, as a console user would:
a load balancer's listeners as DescribeListeners answers them, and the calls of a no-op plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tencentcloud.clb.v20180317 import models

from mtlsform.session import open_session
from tests.engine.conftest import stack_at


def described_listeners(stack: Path, load_balancer: str) -> list[dict[str, Any]]:
    """The listeners of the stack's `load_balancer.NAME` as DescribeListeners answers (JSON)."""
    with open_session(stack_at(stack), operation="look") as session:
        request = models.DescribeListenersRequest()
        request.LoadBalancerId = session.state.get(load_balancer).attributes["id"]
        answer = session.provider_context.sdk_client("clb").DescribeListeners(request)
        return list(json.loads(answer.to_json_string())["Listeners"])


def no_op_calls(stack: Path) -> dict[str, int]:
    """The API calls of a plan that must find nothing to do (asserted), by action."""
    with open_session(stack_at(stack), operation="plan") as session:
        session.provider_context.emulator.reset_stats()
        plan = session.plan()
        calls = dict(session.provider_context.emulator_stats()["calls"])
    assert not plan.has_changes
    return calls


def console_write(stack: Path, action: str, fields: dict[str, Any], *,
                  load_balancer: str = "load_balancer.edge",
                  listener: str = "listener.https") -> None:
    """A change made outside mtlsform, as in the console: one CLB call on the stack's
    listener (its load balancer's and its IDs added to `fields`), its task awaited."""
    with open_session(stack_at(stack), operation="tamper") as session:
        state = session.state
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps({
            "LoadBalancerId": state.get(load_balancer).attributes["id"],
            "ListenerId": state.get(listener).attributes["id"], **fields}))
        getattr(session.provider_context.sdk_client("clb"), action)(request)
        session.provider_context.emulator.wait_for_tasks()
