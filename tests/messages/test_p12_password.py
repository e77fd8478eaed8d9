"""A missing PKCS#12 password is said at plan time, naming the certificate and the variable;
apply without a terminal refuses before it shows the plan, with the same words."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = "stacks/example.yaml"
STATE = Path("stacks/.mtlsform/example.state.json")
MESSAGE = ("certificate.client is exported as PKCS#12, which needs a password, and "
           "MTLSFORM_P12_PASSWORD is not set")
HINT = "  hint: export MTLSFORM_P12_PASSWORD=... (apply asks for it when run on a terminal)"


def test_plan_warns_naming_the_certificate(workdir, cli, monkeypatch):
    monkeypatch.delenv("MTLSFORM_P12_PASSWORD")
    result = cli("plan", EXAMPLE)
    assert result.code == 0
    assert result.err.splitlines()[-2:] == [f"warning: {MESSAGE}", HINT]
    assert "Plan: 10 to add" in result.out


def test_apply_without_a_terminal_refuses_before_the_plan(workdir, cli, monkeypatch):
    monkeypatch.delenv("MTLSFORM_P12_PASSWORD")
    result = cli("apply", EXAMPLE, "--auto-approve")
    assert result.code == 1
    assert result.err.splitlines()[-2:] == [f"error: {MESSAGE}", HINT]
    assert "will be created" not in result.out  # refused before the plan was shown
    assert not (workdir / STATE).exists() or "certificate.client" not in (
        workdir / STATE).read_text()


def test_no_warning_when_set_or_nothing_is_exported(workdir, cli, monkeypatch):
    assert "MTLSFORM_P12_PASSWORD" not in cli("plan", EXAMPLE).err
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    monkeypatch.delenv("MTLSFORM_P12_PASSWORD")
    nothing = cli("plan", EXAMPLE)  # no change writes a PKCS#12 file
    assert "warning" not in nothing.err
    assert "warning" not in cli("plan", EXAMPLE, "--destroy").err
