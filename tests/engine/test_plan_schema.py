"""schemas/plan.schema.json describes what `plan --json` and `show --json` print (issue 14, the
plan JSON as a public format): real outputs validate against it (a plan that creates, one that
updates and replaces, a destroy saved and shown, a refresh-only plan with drift, a plan with
warnings, the state), and it is strict enough to catch a misspelt field or action."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from mtlsform.actions import Action, Reason
from mtlsform.plan.render_json import JSON_FORMAT_VERSION
from mtlsform.resources import RESOURCE_TYPES
from tests.engine.conftest import P12_PASSWORD, edit
from tests.engine.test_plan_at import _expiry
from tests.engine.test_refresh_only import _weight_changed_by_hand

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas/plan.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EXAMPLE = Path("stacks/example.yaml")
IMPORTED = Path("stacks/imported.yaml")


def valid(text: str) -> dict:
    assert "PRIVATE KEY" not in text and P12_PASSWORD not in text
    document = json.loads(text)
    errors = [f"{list(e.absolute_path)}: {e.message[:300]}"
              for e in VALIDATOR.iter_errors(document)]
    assert errors == []
    return document


def test_the_schema_is_a_valid_draft_2020_12_schema_that_knows_every_type_and_action():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    defs = SCHEMA["$defs"]
    assert defs["resource_type"]["enum"] == list(RESOURCE_TYPES)
    assert sorted(map(tuple, defs["actions"]["enum"])) == sorted(a.value for a in Action)
    assert all(jsonschema.Draft202012Validator(
        {"$ref": "#/$defs/resource_change/properties/action_reason", "$defs": defs}
    ).is_valid(reason.code) for reason in Reason)
    assert defs["plan"]["properties"]["format_version"]["pattern"] == \
        f"^{JSON_FORMAT_VERSION.split('.')[0]}\\.[0-9]+$"


def test_real_plans_and_shows_validate(workdir, cli):
    created = valid(cli("plan", EXAMPLE, "--json").out)
    assert created["mode"] == "normal" and created["summary"]["add"] == 10
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    state = valid(cli("show", EXAMPLE, "--json").out)
    assert state["serial"] > 0 and len(state["resources"]) == 10

    # an update in place (a weight) and a replacement (the server certificate is due)
    edit(workdir / EXAMPLE, "rs-2: {instance: ins-rs2, port: 80, weight: 10}",
         "rs-2: {instance: ins-rs2, port: 80, weight: 20}")
    at = (_expiry(workdir, "example", "server") - timedelta(days=10)).strftime("%Y-%m-%d")
    changed = valid(cli("plan", EXAMPLE, "--at", at, "--json").out)
    actions = {c["address"]: c["change"]["actions"] for c in changed["resource_changes"]}
    assert actions['target.https["www.example.com/"].rs-2'] == ["update"]
    assert ["create", "delete"] in actions.values()

    assert cli("plan", EXAMPLE, "--destroy", "--out", "destroy.plan").code == 0
    destroy = valid(cli("show", "destroy.plan", "--json").out)
    assert destroy["mode"] == "destroy" and destroy["summary"]["destroy"] == 10

    _weight_changed_by_hand(workdir, 55)
    drift = valid(cli("plan", EXAMPLE, "--refresh-only", "--json").out)
    assert drift["mode"] == "refresh-only" and len(drift["resource_drift"]) == 1


def test_a_plan_with_warnings_validates(workdir, cli):
    assert cli("apply", IMPORTED, "--auto-approve").code == 0
    at = (_expiry(workdir, "imported", "bought") - timedelta(days=11)).strftime("%Y-%m-%d")
    warned = valid(cli("plan", IMPORTED, "--at", at, "--json").out)
    assert [w["address"] for w in warned["warnings"]] == ["certificate.bought"]


@pytest.mark.parametrize("damage", [
    lambda d: d.update(resource_change=[]),  # a misspelt top-level field
    lambda d: d["resource_changes"][0].update(action_reasons="x"),
    lambda d: d["resource_changes"][0]["change"].update(actions=["destroy"]),
    lambda d: d["resource_changes"][0].update(type="listner"),
    lambda d: d["summary"].pop("forget"),
    lambda d: d.update(mode="apply"),
    lambda d: d.update(format_version="2.0"),
])
def test_the_schema_catches_a_misspelt_or_missing_field(damage):
    document = json.loads((REPO / "tests/plan/golden/example-create.json").read_text())
    assert VALIDATOR.is_valid(document)
    damaged = copy.deepcopy(document)
    damage(damaged)
    assert not VALIDATOR.is_valid(damaged)
