"""The words of an interrupted run, exactly: the summary after the first Ctrl-C, the notice of
the second, and the command line that carries the run on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.apply.executor import ApplyResult
from mtlsform.apply.operations import Operation
from mtlsform.cli.engine_commands import abandon_text, command_to_continue, interrupt_text
from mtlsform.cli.renderers import render_apply_summary
from mtlsform.errors import MtlsformError
from mtlsform.plan.model import Plan, ResourceChange
from mtlsform.runs import ChangeRequest, Source

RS1 = Address.parse('target.https["www.example.com/"].rs-1')
RS2 = Address.parse('target.https["www.example.com/"].rs-2')
LISTENER = Address.parse("listener.https")
AGAIN = "mtlsform apply --auto-approve stacks/example.yaml"


def _update(address: Address) -> ResourceChange:
    return ResourceChange(address=address, action=Action.UPDATE, reason=Reason.CHANGED)


def _result(succeeded: Sequence[Address], not_started: Sequence[Address],
            failed: Sequence[Address] = ()) -> ApplyResult:
    ops = {Operation(a, "apply"): _update(a) for a in [*succeeded, *not_started, *failed]}
    return ApplyResult(succeeded=[Operation(a, "apply") for a in succeeded],
                       not_started=[Operation(a, "apply") for a in not_started],
                       failed={Operation(a, "apply"): MtlsformError("refused") for a in failed},
                       changes=ops)


def _plan(mode: str = "normal") -> Plan:
    return Plan(stack="example", mode=mode, changes=())


def test_the_first_ctrl_c_ends_in_what_finished_what_did_not_start_and_how_to_continue() -> None:
    text, ok = render_apply_summary(_result([RS1], [RS2]), _plan(), color=False, again=AGAIN)
    assert not ok
    assert text == (
        "\nApply interrupted. Resources: 0 added, 1 changed, 0 destroyed.\n"
        '  done:    target.https["www.example.com/"].rs-1\n'
        '  not started: target.https["www.example.com/"].rs-2 (interrupted)\n'
        "The run was interrupted: 1 operation finished, 1 operation did not start. The state is "
        "saved and records everything that finished.\n"
        "To continue, run: mtlsform apply --auto-approve stacks/example.yaml")


def test_an_interrupted_destroy_with_a_failure_says_to_fix_it_first() -> None:
    result = _result([], [RS1, RS2], failed=[LISTENER])
    text, _ = render_apply_summary(result, _plan("destroy"), color=False,
                                   again="mtlsform destroy stacks/example.yaml")
    lines = text.splitlines()
    assert lines[1] == "Destroy interrupted. Resources: 0 added, 0 changed, 0 destroyed."
    assert "  failed:  listener.https: refused" in lines
    assert lines[-2:] == [
        "The run was interrupted: 0 operations finished, 2 operations did not start. The state "
        "is saved and records everything that finished.",
        "To continue, fix the failures above, then run: mtlsform destroy stacks/example.yaml"]


def test_a_failure_without_an_interrupt_keeps_its_words() -> None:
    text, _ = render_apply_summary(_result([RS1], [], failed=[RS2]), _plan(), color=False,
                                   again=AGAIN)
    assert "interrupted" not in text and "To continue" not in text
    assert text.splitlines()[-1] == ("The state records everything that succeeded; fix the "
                                     "problem and run apply again.")


def test_the_second_ctrl_c_names_what_it_abandons_and_how_the_next_run_recovers_it() -> None:
    flying = [(Operation(RS1, "apply"), "update"), (Operation(LISTENER, "delete"), "delete")]
    assert abandon_text(flying, AGAIN) == (
        "Interrupted again: stopping now, abandoning the 2 operations in flight:\n"
        '  target.https["www.example.com/"].rs-1: modifying\n'
        "  listener.https (delete): destroying\n"
        "The cloud may still finish them. The state records every operation that finished and "
        "marks them as in flight; the next run reads the cloud and recovers them.\n"
        "To continue, run: mtlsform apply --auto-approve stacks/example.yaml")
    assert abandon_text([], AGAIN) == (
        "Interrupted again: stopping now (no operation was in flight).\n"
        "To continue, run: mtlsform apply --auto-approve stacks/example.yaml")


@pytest.mark.parametrize(("request_", "source", "parallelism", "expected"), [
    (ChangeRequest(Path("stacks/example.yaml")), Source(Path("stacks/example.yaml")), 10,
     "mtlsform apply stacks/example.yaml"),
    (ChangeRequest(Path("my stack.yaml"), ("domain=a.example",), destroy=True,
                   auto_approve=True, refresh=False, state_path=Path("/tmp/s.json"),
                   lock_timeout=5.0),
     Source(Path("my stack.yaml"), ("domain=a.example",)), 2,
     "mtlsform destroy --auto-approve --parallelism 2 --refresh=false --state /tmp/s.json "
     "--lock-timeout 5 --var domain=a.example 'my stack.yaml'"),
    # a saved plan is used up once the state moved on: its stack, with its variables, again
    (ChangeRequest(Path("x.plan")), Source(Path("stacks/example.yaml"), ("domain=b",)), 10,
     "mtlsform apply --var domain=b stacks/example.yaml"),
])
def test_the_command_to_continue_is_the_run_again(request_: ChangeRequest, source: Source,
                                                   parallelism: int, expected: str) -> None:
    assert command_to_continue(request_, source, parallelism) == expected


def test_the_first_ctrl_c_says_at_once_what_it_waits_for() -> None:
    assert interrupt_text(2) == ("Interrupt received: finishing the 2 operations in flight, "
                                 "starting no new ones (Ctrl-C again to stop at once).")
    assert interrupt_text(0) == ("Interrupt received: starting no new operations (Ctrl-C again "
                                 "to stop at once).")
