"""Progress and Ctrl-C with a real slow cloud: the embedded emulator's tasks take 21 s
(MTLSFORM_EMULATOR_TASK_DELAY), `mtlsform` runs as a subprocess on a pseudo-terminal or on
pipes, and the tests count lines, never times. The slow runs go at once, each in its own folder
(one fixture), so the module costs one slow task rather than one per test.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mtlsform.state import read_state
from tests.cli_progress.processes import SLOW_TASK, Mtlsform, copy_stacks, environment, run

STACK = "stacks/example.yaml"
RS1 = 'target.https["www.example.com/"].rs-1'
RS2 = 'target.https["www.example.com/"].rs-2'
FAST, SLOW = environment(), environment(SLOW_TASK)


def _weights(folder: Path, *backends: str) -> None:
    stack = folder / STACK
    text = stack.read_text()
    for backend in backends:
        old = f"{backend}: {{instance: ins-{backend.replace('-', '')}, port: 80, weight: 10}}"
        assert old in text
        text = text.replace(old, old.replace("weight: 10", "weight: 20"))
    stack.write_text(text)


def _one_slow_write(folder: Path, *, terminal: bool) -> dict[str, Any]:
    _weights(folder, "rs-1")
    code, out = run("apply", "--auto-approve", STACK, cwd=folder, env=SLOW, terminal=terminal)
    return {"code": code, "out": out}


def _pending(folder: Path) -> list[dict[str, Any]]:
    # the state file and its journal, where a run's saves go until it compacts at its end
    state = read_state(folder / "stacks/.mtlsform/example.state.json")
    assert state is not None
    return [{"action": p.action, "address": str(p.address)} for p in state.pending_operations]


def _wait_for_intent(folder: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not _pending(folder):
        assert time.monotonic() < deadline, "the apply never recorded its intent"
        time.sleep(0.05)


def _interrupted(folder: Path, *, twice: bool) -> dict[str, Any]:
    _weights(folder, "rs-1", "rs-2")
    apply = Mtlsform("apply", "--auto-approve", "--parallelism", "1", STACK, cwd=folder,
                     env=SLOW, terminal=False)
    apply.wait_for(f"{RS1}: Modifying...")
    apply.interrupt()
    if twice:
        apply.wait_for("Interrupt received")
        _wait_for_intent(folder)  # the write is in flight in the cloud, not about to start
        apply.interrupt()
    code, out = apply.finish()
    pending = _pending(folder)
    again_code, again = run("apply", "--auto-approve", STACK, cwd=folder, env=FAST)
    return {"code": code, "out": out, "pending": pending, "again_code": again_code,
            "again": again, "pending_after": _pending(folder)}


def _whole_stack_on_a_small_terminal(folder: Path) -> dict[str, Any]:
    shutil.rmtree(folder / "stacks")
    copy_stacks(folder)
    code, out = run("apply", "--auto-approve", STACK, cwd=folder, env=FAST, terminal=True,
                    rows=6)
    return {"code": code, "out": out}


SCENARIOS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "pty": lambda folder: _one_slow_write(folder, terminal=True),
    "pipes": lambda folder: _one_slow_write(folder, terminal=False),
    "first_ctrl_c": lambda folder: _interrupted(folder, twice=False),
    "second_ctrl_c": lambda folder: _interrupted(folder, twice=True),
    "small_terminal": _whole_stack_on_a_small_terminal,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every scenario, run at once from a copy of one applied stack (applied quickly)."""
    base = copy_stacks(tmp_path_factory.mktemp("applied"))
    code, out = run("apply", "--auto-approve", STACK, cwd=base, env=FAST)
    assert code == 0, out
    folders = {}
    for name in SCENARIOS:
        folders[name] = tmp_path_factory.mktemp(name) / "run"
        shutil.copytree(base, folders[name], symlinks=True)
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {name: pool.submit(scenario, folders[name])
                   for name, scenario in SCENARIOS.items()}
        return {name: future.result() for name, future in futures.items()}


def _completed_after(out: str) -> float:
    """The seconds the write of RS1 took, as its "Modifications complete" line says."""
    found = re.search(re.escape(f"{RS1}: Modifications complete after ") + r"(\d+(?:\.\d+)?)s",
                      out)
    assert found, out
    return float(found.group(1))


def _still(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": Still " in line]


def test_a_21_second_write_says_still_modifying_twice_on_a_terminal(
        runs: dict[str, dict[str, Any]]) -> None:
    pty = runs["pty"]
    assert pty["code"] == 0, pty["out"]
    assert _still(pty["out"]) == [f"{RS1}: Still modifying... [10s elapsed]",
                                  f"{RS1}: Still modifying... [20s elapsed]"]
    assert _completed_after(pty["out"]) >= float(SLOW_TASK)
    assert "Progress:" not in pty["out"]  # one operation fits the screen


def test_the_same_write_says_nothing_more_in_a_log(runs: dict[str, dict[str, Any]]) -> None:
    pipes = runs["pipes"]
    assert pipes["code"] == 0, pipes["out"]
    assert _still(pipes["out"]) == []
    lines = pipes["out"].splitlines()
    start = lines.index(f"{RS1}: Modifying...")
    assert lines[start + 1].startswith(f"{RS1}: Modifications complete after ")
    assert _completed_after(lines[start + 1]) >= float(SLOW_TASK)
    assert "\x1b" not in pipes["out"]


def test_the_first_ctrl_c_finishes_the_write_in_flight_and_says_how_to_continue(
        runs: dict[str, dict[str, Any]]) -> None:
    first = runs["first_ctrl_c"]
    assert first["code"] == 1, first["out"]
    # (printed once: the Ctrl-C handler never prints over a line being printed)
    assert first["out"].count(f"{RS1}: Modifying...") == 1
    tail = first["out"][first["out"].index(f"{RS1}: Modifying..."):].splitlines()
    assert tail[0] == f"{RS1}: Modifying..."
    assert tail[1:3] == ["", "Interrupt received: finishing the 1 operation in flight, starting "
                         "no new ones (Ctrl-C again to stop at once)."]
    assert _completed_after(tail[3]) >= float(SLOW_TASK)
    assert tail[4:] == [
        "",
        "Apply interrupted. Resources: 0 added, 1 changed, 0 destroyed.",
        f"  done:    {RS1}",
        f"  not started: {RS2} (interrupted)",
        "The run was interrupted: 1 operation finished, 1 operation did not start. The state is "
        "saved and records everything that finished.",
        f"To continue, run: mtlsform apply --auto-approve --parallelism 1 {STACK}",
    ]
    assert first["pending"] == []
    # the command it names carries on with exactly what did not start
    assert first["again_code"] == 0, first["again"]
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in first["again"]
    assert f"{RS2}: Modifying..." in first["again"] and f"{RS1}: Modifying" not in first["again"]


def test_the_second_ctrl_c_says_what_it_abandons_and_the_next_run_recovers_it(
        runs: dict[str, dict[str, Any]]) -> None:
    second = runs["second_ctrl_c"]
    assert second["code"] == 130, second["out"]
    assert second["out"].count(f"{RS1}: Modifying...") == 1
    tail = second["out"][second["out"].index("Interrupt received"):].splitlines()
    assert tail[1:] == [
        "",
        "Interrupted again: stopping now, abandoning the 1 operation in flight:",
        f"  {RS1}: modifying",
        "The cloud may still finish it. The state records every operation that finished and "
        "marks it as in flight; the next run reads the cloud and recovers it.",
        f"To continue, run: mtlsform apply --auto-approve --parallelism 1 {STACK}",
    ]
    assert "Modifications complete" not in second["out"]  # it did not wait for the write
    assert [(p["action"], p["address"]) for p in second["pending"]] == [("update", RS1)]
    assert second["again_code"] == 0, second["again"]
    assert "Apply complete! Resources: 0 added, 2 changed, 0 destroyed." in second["again"]
    assert second["pending_after"] == []


def test_an_apply_longer_than_the_screen_keeps_a_status_line(
        runs: dict[str, dict[str, Any]]) -> None:
    small = runs["small_terminal"]
    assert small["code"] == 0, small["out"]
    out = small["out"]
    # drawn again after each of the 10 operations' two lines, cleared before the next line
    assert out.count("Progress: ") == 20
    assert out.count("\r\x1b[2K") == 20
    assert "Progress: 10/10 operations done, 0 running\r\x1b[2K" in out
    assert "Apply complete! Resources: 10 added, 0 changed, 0 destroyed." in out
