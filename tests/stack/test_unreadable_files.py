"""A certificate, key or chain file that cannot be read gets one message, and nothing that would
need its content is checked (the chain's first certificate is never taken for the leaf)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mtlsform.stack import load_stack

REPO = Path(__file__).resolve().parents[2]
LINES = {"certificate": 15, "private_key": 16, "chain": 17}


def _stack_with(tmp_path: Path, field: str, value: str) -> Path:
    shutil.copytree(REPO / "stacks" / "certs", tmp_path / "certs")
    text = (REPO / "stacks" / "imported.yaml").read_text(encoding="utf-8")
    written = {"certificate": "certs/server.crt", "private_key": "certs/server.key",
               "chain": "certs/ca.crt"}[field]
    assert f"{field}: {written}" in text
    stack = tmp_path / "imported.yaml"
    stack.write_text(text.replace(f"{field}: {written}", f"{field}: {value}"), encoding="utf-8")
    (tmp_path / "certs" / "garbage.pem").write_bytes(b"not a certificate\n")
    os.symlink("loop.pem", tmp_path / "certs" / "loop.pem")
    return stack


def _messages(tmp_path: Path, field: str, value: str) -> list[str]:
    stack = _stack_with(tmp_path, field, value)
    loaded, diagnostics = load_stack(stack)
    assert loaded is None
    return [d.format().replace(str(tmp_path) + os.sep, "") for d in diagnostics]


@pytest.mark.parametrize("field", ["certificate", "private_key", "chain"])
@pytest.mark.parametrize(("value", "problem"), [
    ("certs/missing.pem", "cannot read certs/missing.pem: No such file or directory"),
    ("certs", "cannot read certs: Is a directory"),
    ("certs/loop.pem", "cannot read certs/loop.pem: Too many levels of symbolic links"),
    ("certs/server.crt/x", "cannot read certs/server.crt/x: Not a directory"),
    ("certs/garbage.pem", "certs/garbage.pem holds no PEM"),
], ids=["missing", "directory", "symlink-loop", "below-a-file", "garbage"])
def test_an_unreadable_file_gets_exactly_one_message(tmp_path: Path, field: str, value: str,
                                                     problem: str) -> None:
    messages = _messages(tmp_path, field, value)
    assert len(messages) == 1, messages
    assert messages[0].startswith(
        f"imported.yaml:{LINES[field]}:"), messages[0]
    assert f"error: certificates.bought.files.{field}: {problem}" in messages[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_without_read_permission_gets_exactly_one_message(tmp_path: Path) -> None:
    stack = _stack_with(tmp_path, "certificate", "certs/server.crt")
    os.chmod(tmp_path / "certs" / "server.crt", 0)
    loaded, diagnostics = load_stack(stack)
    assert loaded is None
    assert [d.message for d in diagnostics] == ["cannot read certs/server.crt: Permission denied"]
