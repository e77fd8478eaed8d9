"""Static checks as part of the default test run, so CI holds every change to them: mypy as
configured in pyproject.toml (strict for the engine's core) and ruff. Marked slow (mypy takes
about half a minute on a cold cache) so the fast inner loop leaves them out.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed: it is part of the [test] extra")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)


@pytest.mark.slow
def test_mypy_passes():
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_ruff_passes():
    run = _run("ruff", "check", ".")
    assert run.returncode == 0, run.stdout + run.stderr
