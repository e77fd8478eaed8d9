"""The README's tour, run as written: the run command, then every marked shell block of the
tour in order, in one bash, in a scratch copy of stacks/ with this test's virtual environment
linked as .venv, against the embedded emulator and then `mtlsform emulator serve --data-plane`
started by the tour itself. The lines each block prints are compared with the README's output
block after it (markers, `...` and placeholders: tests/e2e/tour.py); the README's fixed ports
(API 9000, offset 8000: 8443) are swapped for free ones and written back in the output.

The drift example of the tour (a weight changed and a target added in the console) is made
through the SDK and its plan compared with the README's drift block."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mtlsform.cli.main import run
from tests.e2e.cloud import state_attributes
from tests.e2e.conftest import free_offset
from tests.e2e.tour import PortMap, Shell, Step, Tour, mismatch, normalise, parse_tour

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DEMO = [("127.64.0.1", 443), ("127.32.0.1", 80), ("127.32.0.2", 80)]


@pytest.fixture
def tour() -> Tour:
    return parse_tour(README.read_text(encoding="utf-8"))


def scratch_repo(tmp_path: Path) -> Path:
    """A copy of stacks/ (without worlds, states or exports) beside .venv, a link to the virtual
    environment running this test (where the run command's install put mtlsform)."""
    if sys.prefix == sys.base_prefix or not (Path(sys.prefix) / "bin" / "activate").exists():
        pytest.fail("the tour test runs in a virtual environment (the README's test command)")
    root = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", root / "stacks",
                    ignore=shutil.ignore_patterns(".mtlsform", "out", "*.orig"))
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return root


def tour_environ() -> dict[str, str]:
    """This environment with nothing of mtlsform's, no `mtlsform` on the PATH (so the tour must
    activate .venv), no colour, and unbuffered Python (stdout and stderr interleave in the order
    they were written, as on a terminal)."""
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("MTLSFORM_", "TENCENTCLOUD_"))
               and name not in ("VIRTUAL_ENV", "COLUMNS", "LINES", "PYTHONPATH")}
    environ["PATH"] = os.pathsep.join(
        part for part in environ.get("PATH", "").split(os.pathsep)
        if part and not (Path(part) / "mtlsform").exists())
    assert shutil.which("mtlsform", path=environ["PATH"]) is None
    environ.update(NO_COLOR="1", PYTHONUNBUFFERED="1")
    return environ


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_steps(shell: Shell, steps: list[Step], ports: PortMap) -> str | None:
    """Runs the steps in order; None when each exits and prints as the README says, else what
    went wrong first (with the block, its README line and what it printed)."""
    for step in steps:
        code, printed = shell.run(ports.command(step.commands), step.exit_code)
        printed = [ports.output(line) for line in printed]
        where = (f"README.md:{step.line_no}:\n{step.commands}\n--- printed (normalised):\n"
                 + "\n".join(normalise(line) for line in printed))
        if code != step.exit_code:
            return f"exit {code}, the README expects {step.exit_code}\n{where}"
        if step.expected is not None:
            problem = mismatch(step.expected, printed)
            if problem is not None:
                return f"{problem}\n{where}"
    return None


def tour_steps(tour: Tour) -> list[Step]:
    """The run command (its install steps done) and the tour's blocks, as the README orders
    them."""
    from tests.e2e.tour import installed_run_command

    first = replace(tour.run_command, commands=installed_run_command(tour.run_command.commands))
    return [first, *tour.steps]


def test_the_readme_tour_prints_what_it_shows(tour, tmp_path, curl):
    assert any("--port-offset 8000" in step.commands for step in tour.steps), (
        "the tour serves the data plane at --port-offset 8000, which the test moves")
    root = scratch_repo(tmp_path)
    ports = PortMap(api=free_port(), offset=free_offset(DEMO))
    (tmp_path / "blocks").mkdir()
    shell = Shell(root, tour_environ(), tmp_path / "blocks")
    try:
        problem = run_steps(shell, tour_steps(tour), ports)
    finally:
        shell.close()
    assert problem is None, problem

    # The tour cleaned up after itself: the stack file is back, nothing is left in the cloud.
    assert (root / "stacks/example.yaml").read_text() == (REPO / "stacks/example.yaml").read_text()
    assert not (root / "emulator.log").exists()
    world = json.loads((root / "stacks/.mtlsform/emulator/world.json").read_text())["world"]
    assert (world["load_balancers"], world["certificates"]) == ({}, {}), world


def test_a_changed_expected_line_fails_the_tour(tour, tmp_path):
    """The tour test can fail: the same run with one expected line changed is caught, naming
    the line and the README block."""
    steps = tour_steps(tour)
    validate = next(i for i, s in enumerate(steps) if s.commands.startswith("mtlsform validate"))
    step = steps[validate]
    assert step.expected == ["stacks/example.yaml: valid (10 resources)"]
    changed = replace(step, expected=["stacks/example.yaml: valid (11 resources)"])
    root = scratch_repo(tmp_path)
    (tmp_path / "blocks").mkdir()
    shell = Shell(root, tour_environ(), tmp_path / "blocks")
    try:
        problem = run_steps(shell, [*steps[:validate], changed], PortMap(free_port(), 0))
    finally:
        shell.close()
    assert problem is not None
    assert problem.startswith("expected line 1 not found in order: "
                              "'stacks/example.yaml: valid (11 resources)'"), problem
    assert f"README.md:{step.line_no}:\nmtlsform validate stacks/example.yaml\n" in problem
    assert "stacks/example.yaml: valid (10 resources)" in problem  # what it printed instead


def test_the_comparison_tells_what_varies_from_what_does_not(tour):
    plan = next(s.expected for s in tour.steps if s.commands.endswith("plan stacks/example.yaml"))
    assert plan is not None
    printed = [line.replace("pid 6115", "pid 4242") for line in plan]
    assert mismatch(plan, printed) is None
    assert mismatch(plan, [line.replace("10 -> 30", "10 -> 40") for line in printed])
    assert mismatch(plan, printed[:-1]) == (
        f"expected line {len(plan)} not found in order: {plan[-1]!r}")
    assert mismatch(plan, [*printed, "one more"]) == (
        "the output goes on after the last expected line")
    assert mismatch(["...", "b", "..."], ["a", "b", "c"]) is None
    assert mismatch(["...", "b"], ["a", "b", "c"]) is not None
    assert mismatch(["rs-1 rs-2"], ["rs-2 rs-1"]) is not None
    assert mismatch(["lbl-onbmcmgd done after 0.3s at 11:04:43"],
                    ["lbl-x1y2z3w4 done after 12.5s at 09:00:01"]) is None
    assert mismatch(["lbl-onbmcmgd"], ["lb-onbmcmgd"]) is not None


def test_ports_of_the_readme_are_swapped_and_written_back():
    ports = PortMap(api=41234, offset=23000)
    command = ports.command("serve --port-offset 8000 &\ncurl --resolve d:8443:ip https://d:8443/")
    assert command == ("serve --port 41234 --port-offset 23000 &\n"
                       "curl --resolve d:23443:ip https://d:23443/")
    assert ports.output("http://127.0.0.1:41234 (pid 1). 127.64.0.1:23443, port offset 23000") \
        == "http://127.0.0.1:9000 (pid 1). 127.64.0.1:8443, port offset 8000"
    assert ports.output("127.0.0.1:412345 port offset 230001") == (
        "127.0.0.1:412345 port offset 230001")


def _sdk_request(models: object, name: str, params: dict) -> object:
    request = getattr(models, f"{name}Request")()
    request.from_json_string(json.dumps(params))
    return request


def drift_in_the_console(stack_path: Path) -> None:
    """rs-1's weight set to 50 and ins-rs2:8081 added to the rule, through the SDK against the
    stack's emulator, as someone at the console would; waits for both tasks."""
    from tencentcloud.clb.v20180317 import models

    from mtlsform.cli.stackload import load_with_vars
    from mtlsform.providers import open_provider

    stack, diagnostics = load_with_vars(stack_path, [])
    assert stack is not None, diagnostics
    target = state_attributes(stack_path.parent, stack.name,
                              'target.https["www.example.com/"].rs-1')
    where = {"LoadBalancerId": target["load_balancer_id"], "ListenerId": target["listener_id"],
             "LocationId": target["rule_id"]}
    data_dir = stack_path.parent / ".mtlsform" / "emulator"
    with open_provider(stack.provider, emulator_data_dir=data_dir,
                       environ=os.environ) as (_, context):
        clb = context.sdk_client("clb")
        changes = [("ModifyTargetWeight", {"Targets": [{"InstanceId": "ins-rs1", "Port": 80}],
                                           "Weight": 50}),
                   ("RegisterTargets", {"Targets": [{"InstanceId": "ins-rs2", "Port": 8081,
                                                     "Weight": 10}]})]
        for action, params in changes:  # one at a time: a CLB takes one task at a time
            task = getattr(clb, action)(_sdk_request(models, action, {**where, **params}))
            deadline = time.monotonic() + 30
            while clb.DescribeTaskStatus(_sdk_request(
                    models, "DescribeTaskStatus", {"TaskId": task.RequestId})).Status == 2:
                assert time.monotonic() < deadline, f"the console's {action} did not finish"
                time.sleep(0.05)


def test_the_readme_drift_plan(tour, stacks, environ, capsys):
    assert tour.drift is not None
    stack = stacks / "example.yaml"
    text = stack.read_text()
    stack.write_text(text.replace("rs-1: {instance: ins-rs1, port: 80, weight: 10}",
                                  "rs-1: {instance: ins-rs1, port: 80, weight: 30}"))
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    drift_in_the_console(stack)
    capsys.readouterr()
    assert run(["plan", str(stack)]) == 0
    out = capsys.readouterr().out
    problem = mismatch(tour.drift, out.splitlines())
    assert problem is None, f"{problem}\n--- printed:\n{out}"
