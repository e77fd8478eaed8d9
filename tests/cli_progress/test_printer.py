"""The progress printer on its own, with a clock the test moves: which "Still ..." lines a
terminal and a log get, the status line of an apply of more than a screen (counted lines)."""

from __future__ import annotations

import pytest

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.apply.operations import Operation
from mtlsform.cli import console
from mtlsform.cli.progress import ProgressPrinter, elapsed_text
from mtlsform.plan.model import ResourceChange

CLB = Address.parse("load_balancer.web")
TARGET = Address.parse('target.https["www.example.com/"].rs-1')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    console.configure(no_color=True)


def _change(address: Address, action: Action) -> ResourceChange:
    reason = Reason.NEW if action is Action.CREATE else Reason.CHANGED
    return ResourceChange(address=address, action=action, reason=reason)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_a_terminal_hears_of_a_long_operation_every_10_seconds(
        capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    printer = ProgressPrinter(terminal=True, rows=50, clock=clock)
    op, change = Operation(CLB, "apply"), _change(CLB, Action.CREATE)
    printer.started(op, change)
    for now in (5, 9.9, 10, 10.3, 19, 20.1, 25):
        clock.now = 1000 + now
        printer.tick()
    printer.finished(op, change, 25.0)
    assert _lines(capsys) == [
        "load_balancer.web: Creating...",
        "load_balancer.web: Still creating... [10s elapsed]",
        "load_balancer.web: Still creating... [20s elapsed]",
        "load_balancer.web: Creation complete after 25.0s",
    ]


def test_a_log_hears_of_it_every_30_seconds_and_a_late_tick_says_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    printer = ProgressPrinter(terminal=False, clock=clock)
    op, change = Operation(TARGET, "apply"), _change(TARGET, Action.UPDATE)
    printer.started(op, change)
    for now in (10, 20, 25, 29.9):
        clock.now = 1000 + now
        assert printer.tick() == 0
    clock.now = 1030
    assert printer.tick() == 1
    clock.now = 1095  # the ticker was late: one line, with the last interval reached
    assert printer.tick() == 1
    clock.now = 1100
    assert printer.tick() == 0
    lines = _lines(capsys)
    assert lines[1:] == [
        'target.https["www.example.com/"].rs-1: Still modifying... [30s elapsed]',
        'target.https["www.example.com/"].rs-1: Still modifying... [1m30s elapsed]',
    ]


def test_deletes_say_still_destroying_and_a_finished_operation_says_nothing_more(
        capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    printer = ProgressPrinter(terminal=True, rows=50, clock=clock)
    gone, staying = Operation(CLB, "delete"), Operation(TARGET, "delete")
    printer.started(gone, _change(CLB, Action.DELETE))
    printer.started(staying, _change(TARGET, Action.DELETE))
    printer.finished(gone, _change(CLB, Action.DELETE), 1.0)
    clock.now = 1010
    assert printer.tick() == 1
    assert _lines(capsys)[-1] == ('target.https["www.example.com/"].rs-1 (delete): '
                                  'Still destroying... [10s elapsed]')


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (10, "10s"), (59.9, "59s"), (60, "1m0s"), (610, "10m10s"), (3725, "1h2m5s")])
def test_elapsed_time_is_written_as_terraform_writes_it(seconds: float, text: str) -> None:
    assert elapsed_text(seconds) == text


def _walk(printer: ProgressPrinter, count: int) -> None:
    ops = {Operation(Address.parse(f"certificate.c{i}"), "apply"):
           _change(Address.parse(f"certificate.c{i}"), Action.CREATE) for i in range(count)}
    printer.planned(ops)
    for op, change in ops.items():
        printer.started(op, change)
    for op, change in ops.items():
        printer.finished(op, change, 0.1)
    printer.close()


CLEAR = "\r\x1b[2K"


def test_an_apply_of_more_than_a_screen_keeps_a_status_line_on_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    _walk(ProgressPrinter(terminal=True, rows=3), 4)
    err = capsys.readouterr().err
    # each event line is printed over the status line, which is drawn again after it
    assert err.count("Progress: ") == 8
    assert err.count(CLEAR) == 8
    assert "certificate.c3: Creating...\nProgress: 0/4 operations done, 4 running" in err
    assert err.endswith("Progress: 4/4 operations done, 0 running" + CLEAR)


def test_no_status_line_when_the_apply_fits_the_screen_or_in_a_log(
        capsys: pytest.CaptureFixture[str]) -> None:
    _walk(ProgressPrinter(terminal=True, rows=4), 4)
    _walk(ProgressPrinter(terminal=False, rows=1), 4)
    err = capsys.readouterr().err
    assert "Progress:" not in err and "\x1b" not in err
    assert err.count("Creation complete after 0.1s") == 8


def test_the_ticker_thread_stops_with_the_block() -> None:
    with ProgressPrinter(terminal=False) as printer:
        ticker = printer._ticker
        assert ticker is not None and ticker.is_alive()
    assert not ticker.is_alive()


def test_a_posted_note_is_printed_by_the_ticker_over_the_status_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressPrinter(terminal=True, rows=0) as printer:
        printer.planned({Operation(CLB, "apply"): _change(CLB, Action.CREATE)})
        printer.started(Operation(CLB, "apply"), _change(CLB, Action.CREATE))
        printer.post("Interrupt received.")
    err = capsys.readouterr().err
    assert err == ("load_balancer.web: Creating...\n"
                   "Progress: 0/1 operations done, 1 running" + CLEAR +
                   "Interrupt received.\n"
                   "Progress: 0/1 operations done, 1 running" + CLEAR)


def test_last_words_take_the_status_line_away_and_escape_control_characters(
        capsys: pytest.CaptureFixture[str]) -> None:
    printer = ProgressPrinter(terminal=True, rows=0)
    printer.planned({Operation(CLB, "apply"): _change(CLB, Action.CREATE)})
    printer.started(Operation(CLB, "apply"), _change(CLB, Action.CREATE))
    capsys.readouterr()
    printer.last_words("Stopping \x1b[2J now.")
    assert capsys.readouterr().err == CLEAR + "Stopping \\x1b[2J now.\n"


def test_the_status_line_is_cut_to_the_terminal_width(
        capsys: pytest.CaptureFixture[str]) -> None:
    printer = ProgressPrinter(terminal=True, rows=0)
    printer.err.width = 21  # this test's console (the fixture makes new ones)
    printer.planned({Operation(CLB, "apply"): _change(CLB, Action.CREATE)})
    printer.started(Operation(CLB, "apply"), _change(CLB, Action.CREATE))
    assert capsys.readouterr().err.endswith("\nProgress: 0/1 operat")
