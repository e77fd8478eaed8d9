"""The state committed to the repository (issue 13, item 4, docs/gitops.md): keys must be
encrypted, and a saved plan whose state conflicts is refused with the git situation named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

EXAMPLE = Path("stacks/example.yaml")
STATE = Path("stacks/.mtlsform/example.state.json")
WORLD = Path("stacks/.mtlsform/emulator/world.json")
TARGET = 'target.https["www.example.com/"].rs-1'
TARGET_2 = 'target.https["www.example.com/"].rs-2'


def test_a_committed_state_never_holds_keys_in_clear(workdir, cli, monkeypatch):
    monkeypatch.setenv("MTLSFORM_STATE_IN_REPO", "true")
    refused = cli("apply", EXAMPLE, "--auto-approve")
    assert refused.code == 1, refused.text
    assert (f"error: {STATE} is committed to the repository (MTLSFORM_STATE_IN_REPO), and this "
            "run would record private keys in clear text") in refused.err
    assert "set MTLSFORM_STATE_PASSPHRASE" in refused.err
    assert "mtlsform will perform" not in refused.text  # refused before the question
    assert not (workdir / WORLD).exists() or \
        not json.loads((workdir / WORLD).read_text())["world"].get("load_balancers")
    refused = cli("plan", EXAMPLE, "--out", "p.plan")  # the plan key is a secret too
    assert refused.code == 1 and "would record private keys" in refused.err
    assert not (workdir / "p.plan").exists()

    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "repo-pass")
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    text = (workdir / STATE).read_text()
    assert "PRIVATE KEY" not in text and "encryption" in text
    assert text.endswith("}\n")

    # the mode is a yes or no: anything else is one clear message
    monkeypatch.setenv("MTLSFORM_STATE_IN_REPO", "nonsense")
    wrong = cli("plan", EXAMPLE)
    assert wrong.code == 1
    assert "MTLSFORM_STATE_IN_REPO expects true or false, not 'nonsense'" in wrong.err


def test_saved_plans_against_a_conflicting_state_name_the_git_situation(workdir, cli,
                                                                        monkeypatch):
    monkeypatch.setenv("MTLSFORM_STATE_IN_REPO", "1")
    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "repo-pass")
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--out", "first.plan").code == 0  # adds the plan key
    shutil.copy(workdir / STATE, workdir / "old-branch.json")  # the state on an old branch
    assert cli("state", "rm", EXAMPLE, TARGET).code == 0
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    newest = (workdir / STATE).read_bytes()

    # the checkout holds the state of an old branch: older than the plan's
    shutil.copy(workdir / "old-branch.json", workdir / STATE)
    old = cli("apply", "p.plan")
    assert old.code == 1, old.text
    assert "the state changed since the plan was made" in old.err
    assert "it is an old branch, behind the apply that wrote the newer state" in old.err

    # another apply was committed after the plan was made (two merge requests)
    (workdir / STATE).write_bytes(newest)
    assert cli("state", "rm", EXAMPLE, TARGET_2).code == 0
    moved = cli("apply", "p.plan")
    assert moved.code == 1, moved.text
    assert "another apply was committed first (two merge requests planned against the same " \
        "state" in moved.err

    # a state of another lineage (a merge that took the other side's file whole)
    other = workdir / "stacks/.mtlsform/other.state.json"
    cli("plan", EXAMPLE, "--state", other, "--out", "other.plan")  # makes a new lineage
    assert json.loads(other.read_text())["lineage"] != json.loads(newest)["lineage"]
    replaced = cli("apply", "p.plan", "--state", other)
    assert replaced.code == 1, replaced.text
    assert "the plan file was made against another state" in replaced.err
    assert "the state file was replaced, not updated (a merge that took the other side's " \
        "state whole" in replaced.err
    assert "Traceback" not in old.text + moved.text + replaced.text
