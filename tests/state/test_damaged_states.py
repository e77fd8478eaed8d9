"""Every damaged state in damaged/ is refused as damage (naming the record, the file and its
backup, touching nothing) or healed without touching the cloud. See damaged/README.md."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtlsform.cli.main import run

REPO = Path(__file__).resolve().parents[2]
CASES = sorted((Path(__file__).parent / "damaged").glob("*.yaml"))
STATE = Path("stacks/.mtlsform/example.state.json")
BACKUP = Path("stacks/.mtlsform/example.state.json.backup")
WORLD = Path("stacks/.mtlsform/emulator/world.json")


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("MTLSFORM_", "TENCENTCLOUD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", "damaged-state-test")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example stack applied once; its good state is also kept as the backup."""
    root = tmp_path_factory.mktemp("applied")
    shutil.copytree(REPO / "stacks", root / "stacks",
                    ignore=shutil.ignore_patterns(".mtlsform", "out"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clean_environment(monkeypatch)
        monkeypatch.chdir(root)
        assert run(["apply", "stacks/example.yaml", "--auto-approve"]) == 0
    shutil.copy2(root / STATE, root / BACKUP)
    yield root


def _resource(doc: dict[str, Any], address: str) -> dict[str, Any]:
    return next(r for r in doc["resources"] if r["address"] == address)


def _edit(doc: dict[str, Any], edit: dict[str, Any]) -> None:
    if "top" in edit:
        holder, key = doc, edit["top"]
    elif "at" in edit:
        address, *path = edit["at"]
        holder, key = _resource(doc, address), "attributes"
        for step in path:
            holder, key = holder[key], step
    elif "unmark" in edit:
        resource = _resource(doc, edit["unmark"])
        resource["sensitive_attributes"].remove(edit["path"])
        return
    elif "rename" in edit:
        resource = _resource(doc, edit["rename"])
        resource["address"], resource["type"] = edit["to"], edit["to"].split(".")[0]
        return
    else:
        doc["resources"].append(json.loads(json.dumps(_resource(doc, edit["duplicate"]))))
        return
    if edit.get("delete"):
        del holder[key]
    else:
        holder[key] = edit["set"]


def _damaged(good: bytes, case: dict[str, Any]) -> bytes:
    raw = case.get("raw")
    if raw == "truncate":
        return good[: len(good) // 2]
    if raw == "latin1":
        return good.decode("utf-8").replace("Example", "Exámple").encode("latin-1")
    if raw == "deep":
        return b"[" * 100_000 + b"]" * 100_000
    if raw == "list":
        return b"[]\n"
    if raw == "empty":
        return b""
    doc = json.loads(good)
    for edit in case["damage"]:
        _edit(doc, edit)
    return json.dumps(doc, indent=2).encode("utf-8")


def _world(root: Path) -> Any:
    """What the emulator's cloud holds (its `version` counts saves, reads included)."""
    world = json.loads((root / WORLD).read_text())["world"]
    return {k: v for k, v in world.items() if k != "version"}


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_a_damaged_state_is_refused_as_damage_or_healed(
        case_file: Path, applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = yaml.safe_load(case_file.read_text())
    root = tmp_path / "work"
    shutil.copytree(applied, root)
    _clean_environment(monkeypatch)
    monkeypatch.chdir(root)
    damaged = _damaged((root / STATE).read_bytes(), case)
    (root / STATE).write_bytes(damaged)
    world = _world(root)
    outputs = []
    for command in (["plan", "stacks/example.yaml"],
                    ["apply", "stacks/example.yaml", "--auto-approve"]):
        capsys.readouterr()
        code = run(command)
        captured = capsys.readouterr()
        text = captured.out + captured.err
        outputs.append(text)
        assert "Traceback" not in text and "internal error" not in text, text
        if case.get("healed"):
            assert code == 0, text
            continue
        assert code == 1, text
        assert f"{STATE}" in captured.err, captured.err
        assert f"{BACKUP}" in captured.err, captured.err  # the way back is named
        for fragment in case["expect"]:
            assert fragment in captured.err, captured.err
        assert (root / STATE).read_bytes() == damaged  # nothing was written over it
    assert _world(root) == world  # the cloud was not touched
    for secret in case.get("absent", ()):
        assert all(secret not in text for text in outputs)
    if case.get("healed"):
        assert "No changes" in outputs[0], outputs[0]
        assert "healed" in outputs[0], outputs[0]  # and it says so
        for edit in case["damage"]:  # and the apply recorded the healed record
            if "unmark" in edit:
                recorded = _resource(json.loads((root / STATE).read_text()), edit["unmark"])
                assert edit["path"] in recorded["sensitive_attributes"]
