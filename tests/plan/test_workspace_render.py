"""A plan names its workspace (when it is not `default`) and announces every object found by
its tags, in text, JSON (valid against schemas/plan.schema.json) and Markdown; a saved plan
keeps both."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from mtlsform.addresses import Address
from mtlsform.plan.model import FoundNote, Plan
from mtlsform.plan.render_json import render_plan_json
from mtlsform.plan.render_markdown import render_plan_markdown
from mtlsform.plan.render_text import render_plan

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas/plan.schema.json").read_text())
LB = Address("load_balancer", "web")
PLAN = Plan("example", "normal", (), workspace="prod",
            found=(FoundNote(LB, "lb-0a1b2c3d", "interrupted"),))


def test_text_names_the_workspace_and_the_object_found_by_its_tags():
    text = render_plan(PLAN, color=False)
    assert text.startswith("Workspace: prod (its own state and objects)\n")
    assert ("Objects found in the cloud by their tags:\n\n  # load_balancer.web: found by its "
            "tags: lb-0a1b2c3d (the create of an interrupted run, taken back)\n") in text
    default = render_plan(Plan("example", "normal", ()), color=False)
    assert "Workspace" not in default and "found by its tags" not in default


def test_json_carries_workspace_and_found_objects_and_validates():
    document = json.loads(render_plan_json(PLAN))
    assert document["workspace"] == "prod"
    assert document["found_by_tags"] == [
        {"address": "load_balancer.web", "id": "lb-0a1b2c3d", "how": "interrupted"}]
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert not list(validator.iter_errors(document))
    document["found_by_tags"][0]["how"] = "guessed"
    assert list(validator.iter_errors(document))  # the schema is closed on it


def test_markdown_marks_the_comment_per_workspace():
    text = render_plan_markdown(PLAN, source="stacks/example.yaml")
    assert text.startswith("<!-- mtlsform-plan: example/prod -->\n"
                           "### mtlsform plan for `stacks/example.yaml`, workspace `prod`\n")
    assert "- `load_balancer.web`: `lb-0a1b2c3d` (the create of an interrupted run, taken " \
        "back)" in text
    assert render_plan_markdown(Plan("example", "normal", ())).startswith(
        "<!-- mtlsform-plan: example -->\n")
