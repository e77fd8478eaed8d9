"""Terraform's single-dash spellings and other unknown options: one error, a hint, exit 1."""

from __future__ import annotations

import pytest

PLAN_OPTIONS = ("--var, --var-file, --destroy, --refresh, --detailed-exitcode, --json, --format, "
                "--out, --state, --workspace, --lock-timeout, --adopt-found, --ignore-backup, "
                "--at, --refresh-only, --target, --replace, --artifact-url, --debug, --no-color")

CASES = [
    (("plan", "-out=x.plan"),
     "error: mtlsform plan has no option -out (options start with two dashes)\n"
     "  hint: did you mean --out?\n"),
    (("apply", "-auto-approve"),
     "error: mtlsform apply has no option -auto-approve (options start with two dashes)\n"
     "  hint: did you mean --auto-approve?\n"),
    (("plan", "-var-file=prod.tfvars"),
     "error: mtlsform plan has no option -var-file (options start with two dashes)\n"
     "  hint: did you mean --var-file?\n"),
    (("plan", "-var", "a=b"),
     "error: mtlsform plan has no option -var (options start with two dashes)\n"
     "  hint: did you mean --var?\n"),
    (("plan", "-replace=listener.https"),
     "error: mtlsform plan has no option -replace (options start with two dashes)\n"
     "  hint: did you mean --replace?\n"),
    (("apply", "-target=listener.https"),
     "error: mtlsform apply has no option -target (options start with two dashes)\n"
     "  hint: did you mean --target?\n"),
    (("destroy", "-parallelism=4"),
     "error: mtlsform destroy has no option -parallelism (options start with two dashes)\n"
     "  hint: did you mean --parallelism?\n"),
    (("plan", "-no-color"),
     "error: mtlsform plan has no option -no-color (options start with two dashes)\n"
     "  hint: did you mean --no-color?\n"),
    (("-version",),
     "error: mtlsform has no option -version (options start with two dashes)\n"
     "  hint: did you mean --version?\n"),
    (("apply", "--auto-aprove"),
     "error: mtlsform apply has no option --auto-aprove\n"
     "  hint: did you mean --auto-approve?\n"),
    (("plan", "--parallelism", "4"),
     "error: mtlsform plan has no option --parallelism\n"
     f"  hint: its options: {PLAN_OPTIONS}\n"),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=lambda c: " ".join(c)[:40])
def test_unknown_options_get_one_error_and_a_hint(args, expected, cli):
    result = cli(*args)
    assert (result.code, result.out, result.err) == (1, "", expected)


def test_only_options_of_that_command_are_suggested(cli):
    """`-auto-approve` on plan: plan has no --auto-approve, so it is not suggested."""
    result = cli("plan", "-auto-approve")
    assert result.code == 1
    assert "did you mean" not in result.err
    assert result.err.endswith(f"  hint: its options: {PLAN_OPTIONS}\n")


def test_other_usage_errors_are_one_error_and_a_hint(cli):
    result = cli("certs", "inspect")
    assert (result.code, result.err) == (
        1, "error: Missing argument 'FILE...'.\n  hint: see `mtlsform certs inspect --help`\n")
    result = cli("apply", "--parallelism", "x")
    assert result.code == 1
    assert result.err.startswith("error: Invalid value for '--parallelism': ")
    assert result.err.endswith("  hint: see `mtlsform apply --help`\n")
    assert "Traceback" not in result.err and "Usage:" not in result.err


def test_a_mistyped_command_gets_the_command_it_resembles(cli):
    assert cli("plna").err == "error: No such command 'plna'.\n  hint: did you mean plan?\n"
    assert cli("state", "lst").err == ("error: No such command 'lst'.\n"
                                       "  hint: did you mean list?\n")


def test_an_option_without_its_value_names_the_command(cli):
    assert cli("plan", "--refresh").err == ("error: Option '--refresh' requires an argument.\n"
                                            "  hint: see `mtlsform plan --help`\n")
    assert cli("state", "show", "--var").err == ("error: Option '--var' requires an argument.\n"
                                                 "  hint: see `mtlsform state show --help`\n")
