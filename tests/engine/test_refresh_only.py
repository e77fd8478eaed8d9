"""`--refresh-only` (issue 14, refresh-only): `plan --refresh-only` shows only what changed
outside mtlsform, in text, JSON and Markdown, and `--detailed-exitcode` exits 2 on drift, so a
scheduled job can alert; `apply --refresh-only` records it in the state and changes nothing in
the cloud (the emulator logs no write)."""

from __future__ import annotations

import json
from pathlib import Path

from tencentcloud.clb.v20180317 import models

from mtlsform.emulator import environment
from mtlsform.session import open_session
from tests.engine.conftest import stack_at

EXAMPLE = Path("stacks/example.yaml")
RS2 = 'target.https["www.example.com/"].rs-2'


def _weight_changed_by_hand(workdir: Path, weight: int) -> None:
    with open_session(stack_at(workdir / EXAMPLE), operation="tamper") as session:
        state = session.state
        ids = {name: state.get(address).attributes["id"] for name, address in (
            ("lb", "load_balancer.web"), ("listener", "listener.https"),
            ("rule", 'rule.https["www.example.com/"]'))}
        request = models.ModifyTargetWeightRequest()
        request.from_json_string(json.dumps({
            "LoadBalancerId": ids["lb"], "ListenerId": ids["listener"],
            "LocationId": ids["rule"],
            "Targets": [{"InstanceId": "ins-rs2", "Port": 80, "Weight": weight}]}))
        session.provider_context.sdk_client("clb").ModifyTargetWeight(request)
        session.provider_context.emulator.wait_for_tasks()


def _recorded_weight(workdir: Path) -> int:
    state = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    return next(r["attributes"]["weight"] for r in state["resources"] if r["address"] == RS2)


def test_plan_refresh_only_shows_only_the_drift_and_exits_2_on_it(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    quiet = cli("plan", EXAMPLE, "--refresh-only", "--detailed-exitcode")
    assert quiet.code == 0, quiet.text
    assert quiet.out == ("No changes. The cloud matches the state of stacks/example.yaml: there "
                         "is nothing to record.\n")
    _weight_changed_by_hand(workdir, 55)

    text = cli("plan", EXAMPLE, "--refresh-only", "--detailed-exitcode")
    assert text.code == 2, text.text
    assert text.out.startswith("Objects have changed outside of mtlsform:\n")
    assert "weight = 10 -> 55" in text.out, text.out
    assert "will be updated" not in text.out and "Plan:" not in text.out
    assert text.out.rstrip().endswith(
        "This is a refresh-only plan: `mtlsform apply --refresh-only` records the 1 change "
        "above in the state and changes nothing in the cloud.")

    doc = json.loads(cli("plan", EXAMPLE, "--refresh-only", "--json").out)
    assert doc["mode"] == "refresh-only" and doc["has_changes"] is True
    assert [d["address"] for d in doc["resource_drift"]] == [RS2]
    assert all(c["change"]["actions"] == ["no-op"] for c in doc["resource_changes"])

    markdown = cli("plan", EXAMPLE, "--refresh-only", "--format", "markdown").out
    assert "**This is a refresh-only plan:" in markdown
    assert "Changed outside mtlsform (1)" in markdown
    assert "| Resource | Action |" not in markdown  # nothing to do in the cloud


def test_apply_refresh_only_records_the_drift_and_writes_nothing_to_the_cloud(
        workdir, cli, monkeypatch):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    _weight_changed_by_hand(workdir, 55)
    calls = workdir / "calls.log"
    monkeypatch.setenv(environment.CALL_LOG, str(calls))
    applied = cli("apply", EXAMPLE, "--refresh-only", "--auto-approve")
    assert applied.code == 0, applied.text
    assert ("Refresh complete! The state records what changed outside mtlsform. Resources: 0 "
            "added, 0 changed, 0 destroyed.") in applied.err, applied.err
    assert not calls.exists() or calls.read_text() == ""  # not one write landed
    assert _recorded_weight(workdir) == 55
    after = cli("plan", EXAMPLE, "--refresh-only", "--detailed-exitcode")
    assert after.code == 0, after.text
    normal = cli("plan", EXAMPLE)  # the stack still says 10: the next apply puts it back
    assert "Objects have changed outside of mtlsform" not in normal.out
    assert "weight           = 55 -> 10" in normal.out, normal.out


def test_refresh_only_refuses_what_cannot_go_with_it(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    for args, message in (
            (("plan", EXAMPLE, "--refresh-only", "--destroy"),
             "error: --refresh-only and --destroy cannot be given together"),
            (("plan", EXAMPLE, "--refresh-only", "--refresh=false"),
             "error: --refresh-only and --refresh=false cannot be given together"),
            (("plan", EXAMPLE, "--refresh-only", "--out", "p.plan"),
             "error: --refresh-only plans are not saved: --out cannot be given with it"),
            (("apply", EXAMPLE, "--refresh-only", "--refresh=false", "--auto-approve"),
             "error: --refresh-only and --refresh=false cannot be given together")):
        result = cli(*args)
        assert result.code == 1, result.text
        assert result.err.splitlines()[0] == message, result.err
        assert "Traceback" not in result.text
