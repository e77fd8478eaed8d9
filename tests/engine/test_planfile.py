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


def _cloud_weights(workdir: Path) -> list[int]:
    """The weights the emulator's world holds for the targets of every rule."""
    import json

    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    weights = []
    for lb in world["world"]["load_balancers"].values():
        for listener in lb["listeners"].values():
            for rule in listener["rules"].values():
                weights += [t["weight"] for t in rule["targets"]]
    return sorted(weights)


def test_a_plan_file_changed_after_it_was_written_is_refused(workdir, cli):
    """The reproduction of issue 10 item 7: a weight edited in the plan file never lands."""
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, "rs-2: {instance: ins-rs2, port: 80, weight: 10}",
         "rs-2: {instance: ins-rs2, port: 80, weight: 15}")
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    saved = workdir / "p.plan"
    text = saved.read_text()
    assert text.count('"weight": 15') >= 1
    saved.write_text(text.replace('"weight": 15', '"weight": 99'))
    refused = cli("apply", "p.plan")
    assert refused.code == 1, refused.text
    assert _cloud_weights(workdir) == [10, 10]
    assert "Traceback" not in refused.text
    state_file = workdir / "stacks/.mtlsform/example.state.json"
    assert (f"p.plan: the plan file was changed after it was written (its signature does not "
            f"match the state {Path('stacks/.mtlsform/example.state.json')})") in refused.err
    assert "make the plan again" in refused.err
    assert state_file.exists()


def test_the_plan_key_is_made_once_sealed_when_encrypted_and_never_shown(workdir, cli,
                                                                        monkeypatch):
    import json

    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "correct horse battery staple")
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    state_file = workdir / "stacks/.mtlsform/example.state.json"
    assert "plan_key" not in json.loads(state_file.read_text())  # only a saved plan adds it
    planned = cli("plan", EXAMPLE, "--out", "p.plan")
    assert planned.code == 0, planned.text
    assert "Added a plan-signing key to the state" in planned.text
    sealed = json.loads(state_file.read_text())["plan_key"]
    assert set(sealed) == {"ciphertext", "nonce"}  # encrypted like every other secret
    again = cli("plan", EXAMPLE, "--out", "q.plan")
    assert "Added a plan-signing key" not in again.text
    assert json.loads(state_file.read_text())["plan_key"] == sealed  # made once
    monkeypatch.delenv("MTLSFORM_STATE_PASSPHRASE")
    refused = cli("apply", "p.plan")
    assert refused.code == 1 and "MTLSFORM_STATE_PASSPHRASE" in refused.err
    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "correct horse battery staple")
    outputs = [cli("show", "p.plan").text, cli("show", "p.plan", "--json").text,
               cli("state", "list", EXAMPLE).text, (workdir / "p.plan").read_text()]
    applied = cli("apply", "p.plan")
    assert applied.code == 0, applied.text
    outputs.append(applied.text)
    assert sealed["ciphertext"] not in "".join(outputs)


def test_a_clear_state_gets_a_plan_key_a_reader_cannot_use_to_show_it(workdir, cli):
    import json

    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    key = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())["plan_key"]
    assert isinstance(key, str) and len(key) == 64
    shown = [cli("show", "p.plan").text, cli("show", EXAMPLE).text,
             cli("state", "list", EXAMPLE).text, cli("apply", "p.plan").text]
    assert key not in "".join(shown)


def test_a_plan_file_from_another_environment_is_refused(workdir, cli):
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    assert cli("plan", EXAMPLE, "--state", "other.state.json", "--out", "q.plan").code == 0
    refused = cli("apply", "q.plan")
    assert refused.code == 1
    assert "made against another state" in refused.err


def test_an_export_folder_swapped_for_a_symlink_after_the_plan_gets_no_key(workdir, cli,
                                                                          tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    (workdir / "stacks/out").symlink_to(outside, target_is_directory=True)
    refused = cli("apply", "p.plan")
    assert refused.code == 1, refused.text
    assert "leads outside" in refused.err
    assert list(outside.iterdir()) == []  # no private key was written there
