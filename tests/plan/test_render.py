"""Plan renderings: exact text (no colour) and JSON for a fixed plan, compared with golden files.

Set MTLSFORM_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from mtlsform.addresses import Address
from mtlsform.plan.model import (
    Action,
    Drift,
    OutputChange,
    Plan,
    Reason,
    ResourceChange,
)
from mtlsform.plan.planner import make_plan
from mtlsform.plan.render_json import plan_json
from mtlsform.plan.render_text import render_plan
from mtlsform.references import UNKNOWN
from mtlsform.resources.graph import resource_graph
from mtlsform.stack import load_stack

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MTLSFORM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def first_plan() -> Plan:
    stack, diags = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None, diags
    return make_plan(stack, resource_graph(stack), None, None, now=NOW)


def mixed_plan() -> Plan:
    listener = Address("listener", "https")
    target = Address("target", "https", "www.example.com/", "rs-2")
    extra = Address("target", "https", "www.example.com/", "ins-rs1:8080")
    return Plan(
        stack="example",
        mode="normal",
        changes=(
            ResourceChange(listener, Action.REPLACE_DESTROY_FIRST, Reason.CANNOT_UPDATE,
                           "port cannot be changed in place",
                           before={"id": "lbl-1", "port": 443, "name": "https"},
                           after={"id": UNKNOWN, "port": 8443, "name": "https"},
                           replace_paths=("port",)),
            ResourceChange(target, Action.UPDATE, Reason.CHANGED, before={"weight": 10, "port": 80},
                           after={"weight": 30, "port": 80}),
            ResourceChange(extra, Action.DELETE, Reason.UNMANAGED,
                           "it exists in the cloud but not in the stack",
                           before={"instance_id": "ins-rs1", "port": 8080, "weight": 5}),
        ),
        drift=(Drift(target, {"weight": 10}, {"weight": 55}),),
        outputs=(OutputChange("vip", "127.64.0.1", "127.64.0.1"),),
    )


def test_first_plan_of_the_walk_through_as_text():
    check("example-create.txt", render_plan(first_plan(), color=False,
                                            source="stacks/example.yaml"))


def test_first_plan_of_the_walk_through_as_json():
    document = plan_json(first_plan())
    document["mtlsform_version"] = "X"
    check("example-create.json", json.dumps(document, indent=2) + "\n")


def test_updates_replacements_drift_and_unmanaged_objects_as_text():
    text = render_plan(mixed_plan(), color=False)
    check("mixed.txt", text)


def test_no_changes():
    plan = Plan(stack="example", mode="normal", changes=())
    assert render_plan(plan, color=False, source="stacks/example.yaml") == (
        "No changes. The cloud matches stacks/example.yaml.\n")


def test_colour_only_adds_markup():
    from rich.console import Console

    console = Console(width=100, force_terminal=True, color_system="standard", no_color=False)
    with console.capture() as captured:
        console.print(render_plan(mixed_plan(), color=True), end="")
    coloured = captured.get()
    assert "\x1b[" in coloured
    plain = Console(width=100, no_color=True, color_system=None)
    with plain.capture() as captured:
        plain.print(render_plan(mixed_plan(), color=True), end="")
    assert captured.get() == render_plan(mixed_plan(), color=False)


def test_markdown_comment_for_a_pull_request():
    from mtlsform.plan.render_markdown import render_plan_markdown

    check("mixed.md", render_plan_markdown(mixed_plan(), source="stacks/example.yaml"))


def test_markdown_comment_links_the_plan_artefact():
    from mtlsform.plan.render_markdown import render_plan_markdown

    url = "https://github.com/acme/infra/actions/runs/12345#artifacts"
    plain = render_plan_markdown(mixed_plan(), source="stacks/example.yaml")
    linked = render_plan_markdown(mixed_plan(), source="stacks/example.yaml", artifact_url=url)
    line = f"The plan as JSON, for policy checks and tools: [plan artefact](<{url}>)"
    assert line not in plain and linked.count(line) == 1
    assert linked.replace(line + "\n\n", "") == plain  # only the link is added
    assert "<details><summary>Full plan</summary>" in linked  # the full plan, folded away


def test_markdown_comment_stays_under_githubs_limit():
    from mtlsform.plan.render_markdown import COMMENT_LIMIT, render_plan_markdown

    changes = tuple(
        ResourceChange(Address("target", "https", f"d{i}.example.com/", "rs-1"), Action.CREATE,
                       Reason.NEW,
                       after={"weight": i, "port": 80, "instance_id": "ins-rs1" * 20})
        for i in range(2000))
    text = render_plan_markdown(Plan("big", "normal", changes))
    assert len(text) < COMMENT_LIMIT
    assert "more lines: run `mtlsform plan` to see them all" in text
    assert text.startswith("<!-- mtlsform-plan: big -->")
