"""An export directory outside the stack's folder is refused at its position unless the stack
opts out in review (issue 10, item 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mtlsform.stack import load_stack

REPO = Path(__file__).resolve().parents[2]
WRITTEN = "export: {dir: out/client-1, pkcs12: true}"


def _stack(tmp_path: Path, export: str) -> Path:
    shutil.copy(REPO / "stacks/example.yaml", tmp_path / "example.yaml")
    text = (tmp_path / "example.yaml").read_text()
    assert WRITTEN in text
    (tmp_path / "example.yaml").write_text(text.replace(WRITTEN, export))
    return tmp_path / "example.yaml"


@pytest.mark.parametrize(("export", "how"), [
    ("export: {dir: ../../../outside}", "'../../../outside' leads outside the stack's folder"),
    ("export: {dir: /srv/certs}", "'/srv/certs' is absolute"),
    ("export: {dir: out/../../x}", "'out/../../x' leads outside the stack's folder"),
    ("export: {dir: link}", "'link' leads outside the stack's folder"),
], ids=["dot-dot", "absolute", "dot-dot-inside-out", "symlink"])
def test_an_export_outside_the_stack_folder_is_refused_at_its_position(tmp_path, export, how):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack/link").symlink_to(tmp_path)  # a folder that leads out
    path = _stack(tmp_path / "stack", export)
    stack, diagnostics = load_stack(path, environ={})
    assert stack is None
    messages = [d.format() for d in diagnostics]
    assert len(messages) == 1, messages
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "export:" in text)
    assert messages[0].startswith(f"{path}:{line}:"), messages[0]
    assert f"error: certificates.client.export.dir: {how}" in messages[0]
    assert "outside_stack_folder: true" in messages[0]


@pytest.mark.parametrize("export", [
    "export: {dir: out/client-1}",
    "export: {dir: ./out/../out/c}",
    "export: {dir: /srv/certs, outside_stack_folder: true}",
    "export: {dir: ../shared, outside_stack_folder: true}",
])
def test_an_export_inside_or_opted_out_is_accepted(tmp_path, export):
    stack, diagnostics = load_stack(_stack(tmp_path, export), environ={})
    assert stack is not None, [d.format() for d in diagnostics]
