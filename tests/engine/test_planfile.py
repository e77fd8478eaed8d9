"""Saved plans: applied exactly as reviewed, refused once stale, free of secrets."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = Path("stacks/example.yaml")


def test_saved_plan_is_applied_as_it_is_and_refused_once_stale(workdir, cli):
    planned = cli("plan", EXAMPLE, "--out", "first.plan")
    assert planned.code == 0, planned.text
    saved = workdir / "first.plan"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    applied = cli("apply", "first.plan")  # no --auto-approve: the file is the approval
    assert applied.code == 0, applied.text
    assert "Apply complete! Resources: 10 added" in applied.err
    stale = cli("apply", "first.plan")
    assert stale.code == 1
    assert "the state changed since the plan was made" in stale.err
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_saved_plan_is_refused_when_the_stack_changed(workdir, cli):
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    edit(workdir / EXAMPLE, "weight: 10}", "weight: 11}")
    refused = cli("apply", "p.plan")
    assert refused.code == 1
    assert "changed since the plan was made" in refused.err
    assert not (workdir / "stacks/.mtlsform/example.state.json").exists() or \
        "certificate.ca" not in (workdir / "stacks/.mtlsform/example.state.json").read_text()


def test_saved_plan_holds_no_secret_and_keeps_unknowns(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, "common_name: client-1", "common_name: client-2")
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    text = (workdir / "p.plan").read_text()
    assert "PRIVATE KEY" not in text
    key_body = (workdir / "stacks/out/client-1/client.key").read_text().splitlines()[1]
    assert key_body not in text
    assert "__mtlsform_unknown__" in text  # the new certificate's fingerprint
    applied = cli("apply", "p.plan")
    assert applied.code == 0, applied.text
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_variables_come_from_the_saved_plan(workdir, cli):
    assert cli("plan", EXAMPLE, "--var", "domain=shop.example.com", "--out", "p.plan").code == 0
    assert cli("apply", "p.plan", "--var", "domain=x.example.com").code == 1
    applied = cli("apply", "p.plan")
    assert applied.code == 0, applied.text
    shown = cli("state", "show", EXAMPLE, 'rule.https["shop.example.com/"]',
                "--var", "domain=shop.example.com")
    assert shown.code == 0, shown.text


def test_show_renders_a_saved_plan(workdir, cli):
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    text = cli("show", "p.plan")
    assert "Plan: 10 to add, 0 to change, 0 to destroy." in text.out
    markdown = cli("show", "p.plan", "--format", "markdown")
    assert markdown.out.startswith("<!-- mtlsform-plan: example -->")
    import json

    assert json.loads(cli("show", "p.plan", "--json").out)["summary"]["add"] == 10
