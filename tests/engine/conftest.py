"""Fixtures for engine tests: a copy of the example stacks, the CLI run in-process, sessions."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtlsform.cli.main import run
from mtlsform.stack import load_stack
from mtlsform.stack.model import Stack

REPO = Path(__file__).resolve().parents[2]
P12_PASSWORD = "engine-test-password"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of stacks/ as the working directory, with a clean environment."""
    shutil.copytree(REPO / "stacks", tmp_path / "stacks",
                    ignore=shutil.ignore_patterns(".mtlsform", "out"))
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("MTLSFORM_", "TENCENTCLOUD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", P12_PASSWORD)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory with a clean environment and a fast embedded emulator
    (10 ms tasks), for tests that write their own stacks."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("MTLSFORM_", "TENCENTCLOUD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MTLSFORM_EMULATOR_TASK_DELAY", "0.01")
    return tmp_path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Runs `mtlsform ARGS...` in this process and returns its exit code and output."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def stack_at(path: Path) -> Stack:
    stack, diagnostics = load_stack(path, environ=os.environ)
    assert stack is not None, [d.format() for d in diagnostics]
    return stack


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def clb_made_by_hand(workdir: Path, stack: Path, name: str = "made-by-hand") -> str:
    """A CLB created directly through the SDK (as in the console), outside any stack: its ID."""
    from tencentcloud.clb.v20180317 import models

    from mtlsform.session import open_session

    with open_session(stack_at(workdir / stack), operation="setup") as session:
        clb = session.provider_context.sdk_client("clb")
        request = models.CreateLoadBalancerRequest()
        request.LoadBalancerType = "OPEN"
        request.LoadBalancerName = name
        lb_id = str(clb.CreateLoadBalancer(request).LoadBalancerIds[0])
        session.provider_context.emulator.wait_for_tasks()
    return lb_id
