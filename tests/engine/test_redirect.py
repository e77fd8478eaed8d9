"""The redirect resource type end to end on the embedded emulator (stacks/redirect.yaml): apply,
a no-op plan within the call budget, `verify` (and its failure when the redirect is removed
through the SDK), drift shown and undone, a new code as a replacement, destroy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tencentcloud.clb.v20180317 import models

from mtlsform.session import open_session
from tests.engine.conftest import edit, stack_at

STACK = Path("stacks/redirect.yaml")
REDIRECT = 'redirect.http["www.example.com/"]'


def _sdk(workdir: Path, action: str, fields: dict[str, Any]) -> Any:
    with open_session(stack_at(workdir / STACK), operation="tamper") as session:
        clb = session.provider_context.sdk_client("clb")
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(fields))
        answer = getattr(clb, action)(request)
        session.provider_context.emulator.wait_for_tasks()
        return answer


def _ids(workdir: Path) -> dict[str, Any]:
    with open_session(stack_at(workdir / STACK), operation="read") as session:
        return dict(session.state.get(REDIRECT).attributes)


def _redirect_row(out: str) -> str:
    (row,) = [line for line in out.splitlines() if "f redirect status and location" in line]
    return " ".join(row.split())


def _pair(ids: dict[str, Any], **info: Any) -> dict[str, Any]:
    return {"LoadBalancerId": ids["load_balancer_id"],
            "SourceListenerId": ids["source_listener_id"],
            "TargetListenerId": ids["target_listener_id"],
            "RewriteInfos": [{"SourceLocationId": ids["source_rule_id"],
                              "TargetLocationId": ids["target_rule_id"], **info}]}


def test_redirect_lifecycle(workdir: Path, cli: Any) -> None:
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    assert f"{REDIRECT}: Creation complete" in applied.text

    with open_session(stack_at(workdir / STACK), operation="plan") as session:
        session.provider_context.emulator.reset_stats()
        plan = session.plan()
        calls = session.provider_context.emulator_stats()["calls"]
    assert not plan.has_changes
    # the redirect is read from DescribeListeners (RewriteTarget): no call of its own
    assert calls == {"DescribeCertificates": 1, "DescribeListeners": 1,
                     "DescribeLoadBalancers": 1, "DescribeTargets": 1}

    verified = cli("verify", STACK)
    assert verified.code == 0, verified.text
    assert _redirect_row(verified.out).endswith(
        "f redirect status and location pass 301 Moved Permanently to "
        "https://www.example.com/?mtlsform-verify=redirect")

    ids = _ids(workdir)
    _sdk(workdir, "DeleteRewrite", _pair(ids))  # removed by hand
    verified = cli("verify", STACK)
    assert verified.code == 1
    row = _redirect_row(verified.out)
    assert "f redirect status and location fail answered 503" in row, row
    assert row.endswith("(no redirect: it was removed?), not 301 to "
                        "https://www.example.com/?mtlsform-verify=redirect")
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert f"# {REDIRECT} has been deleted" in planned.out
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    ids = _ids(workdir)  # made again by hand with another code: shown and put back
    _sdk(workdir, "DeleteRewrite", _pair(ids))
    _sdk(workdir, "ManualRewrite", _pair(ids, RewriteCode=302, TakeUrl=True,
                                         SourceDomain="www.example.com"))
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2
    assert "~ code = 301 -> 302" in planned.out  # the drift
    assert "(code cannot be changed in place)" in planned.out
    assert f"# {REDIRECT} must be replaced" in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    rewrites = _sdk(workdir, "DescribeRewrite", {"LoadBalancerId": ids["load_balancer_id"]})
    assert [r.RewriteTarget.RewriteCode for r in rewrites.RewriteSet] == [301]

    edit(workdir / STACK, "code: 301, take_url: true", "code: 307, take_url: false")
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2
    assert f"# {REDIRECT} must be replaced" in planned.out
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    rewrites = _sdk(workdir, "DescribeRewrite", {"LoadBalancerId": ids["load_balancer_id"]})
    assert [(r.RewriteTarget.RewriteCode, r.RewriteTarget.TakeUrl)
            for r in rewrites.RewriteSet] == [(307, False)]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    destroyed = cli("destroy", STACK, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert f"# {REDIRECT} will be destroyed" in destroyed.out
    listed = _sdk(workdir, "DescribeLoadBalancers", {})
    assert listed.TotalCount == 0
