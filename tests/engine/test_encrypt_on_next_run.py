"""Setting MTLSFORM_STATE_PASSPHRASE on a clear state encrypts it at the next apply, even one
with nothing to change, and both the plan and the apply say so (issue 10, item 9)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path("stacks/example.yaml")
STATE = Path("stacks/.mtlsform/example.state.json")


def test_a_clear_state_is_encrypted_by_the_next_apply_and_the_run_says_so(workdir, cli,
                                                                          monkeypatch):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert "PRIVATE KEY" in (workdir / STATE).read_text()
    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "correct horse battery staple")
    planned = cli("plan", EXAMPLE)
    assert planned.code == 0, planned.text
    assert "are in clear text although MTLSFORM_STATE_PASSPHRASE is set: the next apply " \
           "encrypts them" in planned.text
    assert "PRIVATE KEY" in (workdir / STATE).read_text()  # a plan writes nothing
    applied = cli("apply", EXAMPLE, "--auto-approve")  # nothing to change in the cloud
    assert applied.code == 0, applied.text
    assert "The state is now encrypted" in applied.text
    text = (workdir / STATE).read_text()
    assert "PRIVATE KEY" not in text and '"ciphertext"' in text
    again = cli("apply", EXAMPLE, "--auto-approve")
    assert again.code == 0 and "now encrypted" not in again.text
    monkeypatch.delenv("MTLSFORM_STATE_PASSPHRASE")
    refused = cli("certs", "export", EXAMPLE, "client", "--out", "x")
    assert refused.code == 1 and "MTLSFORM_STATE_PASSPHRASE" in refused.err
