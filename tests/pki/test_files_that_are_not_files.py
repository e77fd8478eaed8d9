"""Certificate files are read only when they are regular files of a sane size: a FIFO, a
device or a huge file gets one clear, positioned message, at once (no hang, no MemoryError)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _validate(stacks: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mtlsform", "validate",
                           str(stacks / "imported.yaml")], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture
def stacks(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "stacks", tmp_path / "stacks",
                    ignore=shutil.ignore_patterns(".mtlsform", "out"))
    return tmp_path / "stacks"


def _replace(stacks: Path, make: str) -> None:
    target = stacks / "certs" / "server.crt"
    target.unlink()
    if make == "fifo":
        os.mkfifo(target)
    elif make == "device":
        target.symlink_to("/dev/zero")
    else:
        target.write_bytes(b"A" * (2 * 1024 * 1024))


@pytest.mark.parametrize("make", ["fifo", "device", "huge"])
def test_a_file_that_is_not_a_certificate_file_is_refused_at_once(stacks: Path, make: str):
    _replace(stacks, make)
    run = _validate(stacks)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    expected = "is larger than 1024 KiB" if make == "huge" else "it is not a regular file"
    message = next(line for line in (run.stdout + run.stderr).splitlines()
                   if "certs/server.crt" in line)
    assert "imported.yaml:15:" in message and expected in message
