"""Flags that contradict each other are refused with one message, before anything is read,
locked or started."""

from __future__ import annotations

import pytest

EXAMPLE = "stacks/example.yaml"

BEFORE_ANYTHING = [
    (("plan", EXAMPLE, "--format", "markdown", "--json"),
     "error: --json and --format markdown ask for different outputs\n"
     "  hint: give one of them (--json is --format json)\n"),
    (("show", EXAMPLE, "--json", "--format", "text"),
     "error: --json and --format text ask for different outputs\n"
     "  hint: give one of them (--json is --format json)\n"),
    (("plan", EXAMPLE, "--adopt-found", "--destroy"),
     "error: --adopt-found and --destroy cannot be given together\n"
     "  hint: a destroy deletes only what the state records; adopt first with "
     "`mtlsform apply --adopt-found`, then destroy\n"),
    (("plan", EXAMPLE, "--adopt-found", "--refresh=false"),
     "error: --adopt-found and --refresh=false cannot be given together\n"
     "  hint: objects to adopt are found by reading the cloud\n"),
    (("apply", EXAMPLE, "--adopt-found", "--refresh", "no"),
     "error: --adopt-found and --refresh=false cannot be given together\n"
     "  hint: objects to adopt are found by reading the cloud\n"),
    (("emulator", "serve", "--port-offset", "8000"),
     "error: --port-offset needs --data-plane\n"
     "  hint: the offset moves the ports of the data plane's listeners\n"),
    (("emulator", "serve", "--crash-before-apply"),
     "error: --crash-before-apply needs --crash-after\n"
     "  hint: it changes the crash that --crash-after N (or MTLSFORM_EMULATOR_CRASH_AFTER) "
     "sets up\n"),
]


@pytest.mark.parametrize(("args", "expected"), BEFORE_ANYTHING,
                         ids=lambda c: " ".join(c)[:50])
def test_conflicting_flags_are_refused_before_anything_runs(args, expected, workdir, cli):
    result = cli(*args)
    assert (result.code, result.out, result.err) == (1, "", expected)
    assert not (workdir / "stacks/.mtlsform").exists()
    assert not (workdir / ".mtlsform").exists()


def test_agreeing_flags_are_accepted(workdir, cli):
    """--json with --format json says the same twice: that is no conflict."""
    result = cli("plan", EXAMPLE, "--json", "--format", "json")
    assert result.code == 0, result.text


def test_a_saved_plan_refuses_what_it_records(workdir, cli):
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    cases = [
        (("apply", "p.plan", "--refresh=false"),
         "error: a saved plan and --refresh cannot be given together\n"
         "  hint: the plan was made with its own --refresh; apply it as it is, or plan again\n"),
        (("destroy", "p.plan"),
         "error: p.plan is a saved plan; destroy takes the stack file\n"
         "  hint: a plan made with `plan --destroy --out FILE` is carried out by "
         "`mtlsform apply FILE`\n"),
        (("show", "p.plan", "--var", "domain=x"),
         "error: a saved plan and --var cannot be given together\n"
         "  hint: the plan file records its stack, variables and state\n"),
        (("show", "p.plan", "--state", "other.json"),
         "error: a saved plan and --state cannot be given together\n"
         "  hint: the plan file records its stack, variables and state\n"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert (result.code, result.out, result.err) == (1, "", expected), args
    shown = cli("show", "p.plan")
    assert shown.code == 0 and "Plan: 10 to add" in shown.out
