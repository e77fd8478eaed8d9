"""What an earlier mtlsform left behind still works: a stack applied by mtlsform 0.1 before the
engine took its current shape (state format 1, its emulator world and exported client files, in
fixtures/applied-0.1) reads, upgrades, and plans as a no-op.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from mtlsform.session import open_session
from mtlsform.state.statefile import decode_state
from tests.engine.conftest import stack_at

FIXTURE = Path(__file__).parent / "fixtures" / "applied-0.1"
EXAMPLE = Path("stacks/example.yaml")
# The fixture's certificates were made on 2026-12-02; plan a day later, far from renewal.
A_DAY_LATER = datetime(2026, 12, 3, tzinfo=UTC)


def _place_fixture(workdir: Path) -> None:
    stacks = workdir / "stacks"
    (stacks / ".mtlsform" / "emulator").mkdir(parents=True)
    shutil.copy(FIXTURE / "example.state.json", stacks / ".mtlsform")
    shutil.copy(FIXTURE / "emulator" / "world.json", stacks / ".mtlsform" / "emulator")
    shutil.copytree(FIXTURE / "exported", stacks / "out")
    for key in (stacks / "out").rglob("*"):
        key.chmod(0o600)


def test_the_fixture_is_a_format_1_state():
    document = json.loads((FIXTURE / "example.state.json").read_text())
    assert document["format_version"] == 1
    assert all(r["status"] == "ready" for r in document["resources"])
    upgraded = decode_state((FIXTURE / "example.state.json").read_bytes(), source="fixture")
    assert len(upgraded.state.resources) == len(document["resources"]) == 10


def test_a_stack_applied_before_plans_as_a_no_op(workdir):
    _place_fixture(workdir)
    with open_session(stack_at(workdir / EXAMPLE), operation="plan") as session:
        plan = session.plan(now=A_DAY_LATER)
    assert [str(c.address) for c in plan.actionable] == []
    assert plan.drift == ()
    assert len(plan.changes) == 10


def test_the_next_changing_apply_writes_the_current_format(workdir, cli):
    _place_fixture(workdir)
    stack_file = workdir / EXAMPLE
    text = stack_file.read_text()
    assert "rs-2: {instance: ins-rs2, port: 80, weight: 10}" in text
    stack_file.write_text(text.replace("rs-2: {instance: ins-rs2, port: 80, weight: 10}",
                                       "rs-2: {instance: ins-rs2, port: 80, weight: 30}"))
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Resources: 0 added, 1 changed, 0 destroyed." in applied.err
    written = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    from mtlsform.state import FORMAT_VERSION

    assert written["format_version"] == FORMAT_VERSION
    assert all("status" not in r for r in written["resources"])
