"""Refactoring and targeting (issue 14, item 3), through the CLI against the embedded emulator,
with the cloud checked through the SDK and the state file read back:

- a `moved:` rename of a listener (and of its rule) plans as a no-op with "moved from X" in
  text, JSON (`previous_address`) and Markdown, and the listener keeps its cloud object;
- `state mv` followed by a plan is a no-op; `state rm` followed by a plan shows a create, with
  not one write to the cloud; both keep a backup and refuse unknown or taken addresses;
- `--target` plans and applies only the target and what it depends on, and says so in every
  format and in a saved plan; `--replace` plans a replacement;
- none of these outputs holds a private key or the PKCS#12 password.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.clb.v20180317 import models

from mtlsform.emulator import environment
from mtlsform.session import open_session
from tests.engine.conftest import P12_PASSWORD, edit, stack_at
from tests.engine.test_plan_schema import valid as schema_valid

EXAMPLE = Path("stacks/example.yaml")
STATE = Path("stacks/.mtlsform/example.state.json")
RULE = 'rule.https["www.example.com/"]'
RULE_WEB = 'rule.web["www.example.com/"]'
SECRETS = ("PRIVATE KEY", P12_PASSWORD)
outputs: list[str] = []  # every plan, JSON and Markdown output of the running test


@pytest.fixture(autouse=True)
def _no_output_holds_a_secret():
    """After each test: none of the outputs it printed holds a private key or the password."""
    outputs.clear()
    yield
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text


def _run(cli: Any, *args: object) -> Any:
    result = cli(*args)
    outputs.append(result.text)
    return result


def _listeners(workdir: Path) -> list[tuple[str, int, str, int]]:
    """What the cloud holds: (ID, port, name, rule count) of each listener of the CLB."""
    with open_session(stack_at(workdir / EXAMPLE), operation="check") as session:
        lb = session.state.get("load_balancer.web").attributes["id"]
        request = models.DescribeListenersRequest()
        request.LoadBalancerId = lb
        found = session.provider_context.sdk_client("clb").DescribeListeners(request)
    return [(x.ListenerId, x.Port, x.ListenerName, len(x.Rules or [])) for x in found.Listeners]


def _recorded(workdir: Path, path: Path = STATE) -> dict[str, dict[str, Any]]:
    state = json.loads((workdir / path).read_text())
    return {r["address"]: r["attributes"] for r in state["resources"]}


def _rename_listener(workdir: Path, *, moved: str) -> None:
    """The listener's key becomes `web`; its cloud name stays `https` (name:)."""
    edit(workdir / EXAMPLE, "listeners:\n  https:\n", "listeners:\n  web:\n    name: https\n")
    if moved:
        (workdir / EXAMPLE).write_text((workdir / EXAMPLE).read_text() + moved)


def _count_writes(workdir: Path, monkeypatch: Any) -> Path:
    calls = workdir / "calls.log"
    monkeypatch.setenv(environment.CALL_LOG, str(calls))
    return calls


def _writes(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def test_moved_listener_and_rule_plan_as_no_ops_and_keep_the_cloud_object(
        workdir, cli, monkeypatch):
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    before = _listeners(workdir)
    _rename_listener(workdir, moved=(
        "\nmoved:\n  - from: listener.https\n    to: listener.web\n"
        f"  - from: '{RULE}'\n    to: '{RULE_WEB}'\n"))

    text = _run(cli, "plan", EXAMPLE, "--detailed-exitcode")
    assert text.code == 0, text.text
    assert ("Resources moved to new addresses (nothing changes in the cloud):\n\n"
            "  # listener.web moved from listener.https\n"
            f"  # {RULE_WEB} moved from {RULE}\n") in text.out, text.out
    assert "No changes. The cloud matches stacks/example.yaml." in text.out

    doc = schema_valid(_run(cli, "plan", EXAMPLE, "--json").out)  # plan.schema.json holds it
    moved = {c["address"]: (c.get("previous_address"), c["change"]["actions"])
             for c in doc["resource_changes"] if "previous_address" in c}
    assert moved == {
        "listener.web": ("listener.https", ["no-op"]),
        RULE_WEB: (RULE, ["no-op"]),
        'target.web["www.example.com/"].rs-1': ('target.https["www.example.com/"].rs-1',
                                               ["no-op"]),
        'target.web["www.example.com/"].rs-2': ('target.https["www.example.com/"].rs-2',
                                               ["no-op"]),
    }
    assert doc["has_changes"] is False and doc["partial"] is False

    markdown = _run(cli, "plan", EXAMPLE, "--format", "markdown").out
    assert "`listener.web` (moved from `listener.https`)" in markdown
    assert f"`{RULE_WEB}` (moved from `{RULE}`)" in markdown

    assert _run(cli, "plan", EXAMPLE, "--out", "moved.plan").code == 0
    saved = json.loads(_run(cli, "show", "moved.plan", "--json").out)
    assert {c["address"]: c.get("previous_address") for c in saved["resource_changes"]
            if "previous_address" in c} == {a: p for a, (p, _) in moved.items()}
    calls = _count_writes(workdir, monkeypatch)
    applied = _run(cli, "apply", "moved.plan")  # the saved plan carries the moves
    assert applied.code == 0, applied.text
    assert _writes(calls) == []  # a rename is the state's business only
    recorded = _recorded(workdir)
    assert "listener.https" not in recorded and RULE not in recorded
    assert recorded["listener.web"]["id"] == before[0][0]
    assert _listeners(workdir) == before  # the same listener, name and rules
    again = _run(cli, "plan", EXAMPLE, "--detailed-exitcode")
    assert again.code == 0 and "moved from" not in again.out, again.text


def test_a_renamed_listener_without_name_keeps_its_object_and_updates_its_cloud_name(
        workdir, cli):
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    (listener_id, *_), = _listeners(workdir)
    edit(workdir / EXAMPLE, "listeners:\n  https:\n", "listeners:\n  web:\n")
    (workdir / EXAMPLE).write_text((workdir / EXAMPLE).read_text()
                                   + "\nmoved:\n  - from: listener.https\n    to: listener.web\n")
    planned = _run(cli, "plan", EXAMPLE)
    assert "# listener.web will be updated in place\n  # (moved from listener.https)" \
        in planned.out, planned.out
    assert '~ name             = "https" -> "web"' in planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    assert [(i, n) for i, _, n, _ in _listeners(workdir)] == [(listener_id, "web")]


def test_a_rename_without_moved_forgets_the_old_records_instead_of_deleting_the_object(
        workdir, cli, monkeypatch):
    """The renamed listener finds its cloud object by port and name: deleting the old record's
    object would delete it, so the old records are only forgotten."""
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    before = _listeners(workdir)
    _rename_listener(workdir, moved="")
    planned = _run(cli, "plan", EXAMPLE)
    assert ("  # listener.https will be forgotten\n  # (listener.web finds the same cloud object "
            "by what identifies it: only this record is dropped (a moved: entry says so in the "
            "stack))") in planned.out, planned.out
    assert "Plan: 0 to add, 0 to change, 0 to destroy, 4 to forget." in planned.out
    calls = _count_writes(workdir, monkeypatch)
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    assert _writes(calls) == [] and _listeners(workdir) == before
    assert _recorded(workdir)["listener.web"]["id"] == before[0][0]


def test_state_mv_then_plan_is_a_no_op_and_refuses_what_it_cannot_do(workdir, cli):
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    before = _recorded(workdir)
    moved = _run(cli, "state", "mv", EXAMPLE, "listener.https", "listener.web")
    assert moved.code == 0, moved.text
    assert moved.out.splitlines()[:2] == ["Moved listener.https to listener.web",
                                          f"Moved {RULE} to {RULE_WEB}"]
    assert "the state before is kept as stacks/.mtlsform/example.state.json.backup" in moved.out
    assert "listener.https" in _recorded(workdir, Path(f"{STATE}.backup"))
    after = _recorded(workdir)
    assert after["listener.web"] == before["listener.https"]
    assert after['target.web["www.example.com/"].rs-1'] == \
        before['target.https["www.example.com/"].rs-1']
    _rename_listener(workdir, moved="")
    plan = _run(cli, "plan", EXAMPLE, "--detailed-exitcode")
    assert plan.code == 0, plan.text
    assert plan.out == "No changes. The cloud matches stacks/example.yaml.\n"

    for args, message in (
            (("listener.nope", "listener.x"), "error: listener.nope is not in the state"),
            (("listener.web", "load_balancer.web"),
             "error: cannot move listener.web to load_balancer.web: listener.web and "
             "load_balancer.web are not of the same kind: a move keeps the type and the "
             "shape of the address"),
            (("certificate.ca", "certificate.server"),
             "error: cannot move certificate.ca to certificate.server: certificate.server is "
             "already in the state: a move cannot replace what is there (`mtlsform state rm` "
             "it first if it is wrong)"),
            (("listener[", "listener.x"),
             "error: state mv listener[: 'listener[' is not a resource address (expected e.g. "
             'listener.https or rule.https["www.example.com/"])')):
        refused = _run(cli, "state", "mv", EXAMPLE, *args)
        assert refused.code == 1, refused.text
        assert refused.err.splitlines()[0] == message, refused.err
        assert "Traceback" not in refused.text
    assert _recorded(workdir) == after  # nothing written by a refusal


def test_state_rm_then_plan_shows_a_create_with_the_cloud_untouched(
        workdir, cli, monkeypatch):
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    calls = _count_writes(workdir, monkeypatch)
    cloud = _listeners(workdir)
    removed = _run(cli, "state", "rm", EXAMPLE, "ssl_certificate.ca")
    assert removed.code == 0, removed.text
    assert removed.out.splitlines()[0] == ("Removed ssl_certificate.ca from the state (the "
                                           "cloud object is left as it is)")
    assert "ssl_certificate.ca is still in stacks/example.yaml: the next plan will create it " \
           "again" in removed.out
    assert "ssl_certificate.ca" not in _recorded(workdir)
    assert "ssl_certificate.ca" in _recorded(workdir, Path(f"{STATE}.backup"))
    plan = _run(cli, "plan", EXAMPLE)
    assert "# ssl_certificate.ca will be created" in plan.out, plan.out
    assert _writes(calls) == []  # state rm and plan wrote nothing to the cloud
    assert _listeners(workdir) == cloud

    unknown = _run(cli, "state", "rm", EXAMPLE, "listener.nope")
    assert unknown.code == 1
    assert unknown.err.splitlines()[0] == "error: listener.nope is not in the state"

    nested = _run(cli, "state", "rm", EXAMPLE, "listener.https")
    assert nested.code == 0, nested.text
    assert [line.split(" from")[0] for line in nested.out.splitlines()[:4]] == [
        "Removed listener.https", f"Removed {RULE}",
        'Removed target.https["www.example.com/"].rs-1',
        'Removed target.https["www.example.com/"].rs-2']
    local = _run(cli, "state", "rm", EXAMPLE, "certificate.client")
    assert ("certificate.client had no cloud object: what the state held of it (a private key "
            "included) is now only in stacks/.mtlsform/example.state.json.backup") in local.out
    assert _writes(calls) == []


def test_target_plans_and_applies_only_the_target_and_its_dependencies(workdir, cli):
    text = _run(cli, "plan", EXAMPLE, "--target", "listener.https")
    assert text.out.startswith(
        "Warning: this plan is partial: it covers only listener.https (--target) and what it "
        "depends on; the rest of the stack is not shown and is left as it is."), text.out
    assert "rule.https" not in text.out and "certificate.client" not in text.out
    doc = schema_valid(_run(cli, "plan", EXAMPLE, "--target", "listener.https", "--json").out)
    assert doc["partial"] is True and doc["targets"] == ["listener.https"]
    assert [c["address"] for c in doc["resource_changes"]] == [
        "certificate.ca", "certificate.server", "ssl_certificate.ca",
        "ssl_certificate.server", "load_balancer.web", "listener.https"]
    markdown = _run(cli, "plan", EXAMPLE, "--target", "listener.https", "--format",
                    "markdown").out
    assert "> [!WARNING]\n> **This plan is partial**: it covers only listener.https" in markdown

    saved = _run(cli, "plan", EXAMPLE, "--target", "listener.https", "--out", "t.plan")
    assert saved.code == 0, saved.text
    shown = json.loads(_run(cli, "show", "t.plan", "--json").out)
    assert shown["partial"] is True and shown["targets"] == ["listener.https"]
    refused = _run(cli, "apply", "t.plan", "--target", "listener.https")
    assert refused.code == 1
    assert refused.err.splitlines()[0] == ("error: --target cannot be given with a saved plan: "
                                           "it records what it covers")

    applied = _run(cli, "apply", "t.plan")
    assert applied.code == 0, applied.text
    assert "Warning: this plan is partial" in applied.out + applied.err
    assert ("This apply was partial: it applied only listener.https (--target) and what it "
            "depends on") in applied.err
    assert sorted(_recorded(workdir)) == sorted([
        "certificate.ca", "certificate.server", "ssl_certificate.ca",
        "ssl_certificate.server", "load_balancer.web", "listener.https"])
    (_, port, name, rules), = _listeners(workdir)
    assert (port, name, rules) == (443, "https", 0)  # the listener, and no rule yet

    rest = _run(cli, "plan", EXAMPLE)
    assert "Plan: 4 to add, 0 to change, 0 to destroy." in rest.out, rest.out
    unknown = _run(cli, "plan", EXAMPLE, "--target", "listener.nope")
    assert unknown.code == 1
    assert unknown.err.splitlines()[0] == ("error: --target listener.nope: listener.nope is "
                                           "not declared in the stack or recorded in the state")


def test_replace_plans_a_replacement_of_that_resource(workdir, cli):
    assert _run(cli, "apply", EXAMPLE, "--auto-approve").code == 0
    doc = json.loads(_run(cli, "plan", EXAMPLE, "--replace", RULE, "--json").out)
    changes = {c["address"]: c for c in doc["resource_changes"]}
    assert changes[RULE]["change"]["actions"] == ["delete", "create"]
    assert changes[RULE]["action_reason"] == "replace_by_request"
    assert changes["listener.https"]["change"]["actions"] == ["no-op"]
    text = _run(cli, "plan", EXAMPLE, "--replace", RULE).out
    assert f"# {RULE} must be replaced (destroyed, then created)\n  # (replace requested " \
           "(--replace))" in text
    unknown = _run(cli, "plan", EXAMPLE, "--replace", "listener.nope")
    assert unknown.err.splitlines()[0] == ("error: --replace listener.nope: listener.nope is "
                                           "not declared in the stack")

