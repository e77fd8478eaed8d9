"""Output formats chosen once per command: --json is --format json, for plans and states."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.conftest import clb_made_by_hand, edit

EXAMPLE = Path("stacks/example.yaml")


def test_json_is_an_alias_of_format_json(workdir, cli):
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    for target in ("p.plan",):
        by_flag, by_format = cli("show", target, "--json"), cli("show", target, "--format", "json")
        assert (by_flag.code, by_format.code) == (0, 0)
        assert by_flag.out == by_format.out and json.loads(by_flag.out)["summary"]["add"] == 10
    assert cli("apply", "p.plan").code == 0
    by_flag, by_format = cli("show", EXAMPLE, "--json"), cli("show", EXAMPLE, "--format", "JSON")
    assert by_flag.out == by_format.out and json.loads(by_flag.out)["stack"] == "example"
    text, markdown = cli("show", EXAMPLE), cli("show", EXAMPLE, "--format", "markdown")
    assert text.out == markdown.out  # Markdown is a format of plans; a state shows as text


def test_an_unknown_format_is_refused_before_anything_runs(workdir, cli):
    for args in (("plan", EXAMPLE), ("show", EXAMPLE)):
        refused = cli(*args, "--format", "yaml")
        assert (refused.code, refused.out) == (1, "")
        assert refused.err == "error: --format 'yaml' is not text, json or markdown\n"
    assert not (workdir / "stacks/.mtlsform").exists()


def _counts_of_plan(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Plan: "))


def _counts_of_apply(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Apply complete! "))


def test_the_apply_summary_counts_what_the_plan_counted(workdir, cli):
    """Replacing local certificate copies (a new client key type, re-exported files) is
    counted alike by the plan and by the apply summary, in text and in JSON."""
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    text = EXAMPLE.read_text()
    EXAMPLE.write_text(text.replace("subject: {common_name: client-1}",
                                    "subject: {common_name: client-1}\n    key: ecdsa-p256"))
    planned = cli("plan", EXAMPLE)
    assert planned.code == 0, planned.text
    assert _counts_of_plan(planned.out) == "Plan: 1 to add, 0 to change, 1 to destroy."
    summary = json.loads(cli("plan", EXAMPLE, "--json").out)["summary"]
    assert (summary["add"], summary["change"], summary["destroy"]) == (1, 0, 1)
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert _counts_of_plan(applied.out) == "Plan: 1 to add, 0 to change, 1 to destroy."
    assert _counts_of_apply(applied.text) == (
        "Apply complete! Resources: 1 added, 0 changed, 1 destroyed.")


def test_a_forgotten_load_balancer_is_counted_by_the_plan_and_by_the_destroy(workdir, cli):
    lb_id = clb_made_by_hand(workdir, EXAMPLE)
    edit(workdir / EXAMPLE, "    name: example-clb", f"    id: {lb_id}")
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert _counts_of_plan(destroyed.out) == (
        "Plan: 0 to add, 0 to change, 9 to destroy, 1 to forget.")
    assert "Destroy complete! Resources: 0 added, 0 changed, 9 destroyed, 1 forgotten." in (
        destroyed.err)
