"""Every command's --help, as golden files, in words a person uses: no Python type names.

Set MTLSFORM_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import typer

from mtlsform.cli.main import build_app

GOLDEN = Path(__file__).resolve().parent / "golden"

# Python's and Click's names for types, as Typer prints them when a metavar is missing.
TYPE_NAMES = re.compile(
    r"<(str|int|float|bool|path|file|text|uuid|datetime|int range|float range|list\[[^>]*\])>"
    r"|list\[|\{[A-Z][A-Z|_.]*\}"
    r"|\b(INTEGER|TEXT|FLOAT|BOOLEAN|PATH|FILENAME|DIRECTORY)\b"
    r"|<=x|x<=|x>=|\bNoneType\b")


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, as the words that name it (the root is ())."""
    root = typer.main.get_command(build_app())
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(root, ())
    return found


def golden_file(path: tuple[str, ...]) -> Path:
    return GOLDEN / f"{'-'.join(('mtlsform', *path))}.txt"


def type_names_in(text: str) -> list[str]:
    return [match.group(0) for match in TYPE_NAMES.finditer(text)]


@pytest.fixture
def columns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """80 columns, and no default stack (no MTLSFORM_STACK, no ./mtlsform.yaml)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    for name in list(os.environ):
        if name.startswith("MTLSFORM_") and name != "MTLSFORM_UPDATE_GOLDEN":
            monkeypatch.delenv(name)


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "mtlsform")
def test_help_matches_its_golden_file(path, cli, columns):
    result = cli(*path, "--help")
    assert (result.code, result.err) == (0, "")
    golden = golden_file(path)
    if os.environ.get("MTLSFORM_UPDATE_GOLDEN") == "1":
        golden.write_text(result.out)
    assert golden.exists(), f"no golden file {golden.name}: run with MTLSFORM_UPDATE_GOLDEN=1"
    assert result.out == golden.read_text()


def test_every_golden_file_belongs_to_a_command():
    expected = {golden_file(path).name for path in command_paths()}
    assert {p.name for p in GOLDEN.glob("*.txt")} == expected


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "mtlsform")
def test_help_shows_no_python_type_names(path, cli, columns):
    result = cli(*path, "--help")
    assert type_names_in(result.out) == []
    assert type_names_in(golden_file(path).read_text()) == []


def test_the_scan_finds_what_typer_prints_without_metavars():
    """The scan itself: Typer's help of a command without metavars is full of type names."""
    sample = ("Usage: mtlsform plan [OPTIONS] {STACK}\n  STACK <path>  The stack.\n"
              "  --var <list[str]>  x\n  --refresh <str>  x\n  --lock-timeout <float>  x\n"
              "  --parallelism <int range>  [default: 10; 1<=x<=64]\n  --n INTEGER  --t TEXT\n")
    assert type_names_in(sample) == ["{STACK}", "<path>", "<list[str]>", "<str>", "<float>",
                                     "<int range>", "<=x", "INTEGER", "TEXT"]
    assert type_names_in("--state FILE  State file (.mtlsform/<stack>.state.json)") == []


def test_every_command_mentions_the_global_options(cli, columns):
    for path in command_paths()[1:]:
        out = cli(*path, "--help").out
        assert "Global options (accepted anywhere on the line):" in out, path
        assert "--debug" in out and "--no-color" in out, path


def test_every_option_that_takes_a_value_names_it():
    """A metavar on every option that takes a value: otherwise Typer prints a type name."""
    root = typer.main.get_command(build_app())
    missing = []

    def walk(command: object, path: str) -> None:
        for param in getattr(command, "params", []):
            flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
            if param.param_type_name == "option" and not flag and param.metavar is None \
                    and param.name != "help":
                missing.append(f"{path} {param.opts[0]}")
            if param.param_type_name == "argument" and param.metavar is None:
                missing.append(f"{path} {param.name}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(root, "mtlsform")
    assert missing == []


def test_help_shows_the_default_stack_in_force(cli, columns, tmp_path, monkeypatch):
    (tmp_path / "mtlsform.yaml").write_text("default_stack: stacks/example.yaml\n")
    def words(*args: str) -> str:
        return " ".join(cli(*args).out.split())

    assert "[now: stacks/example.yaml, from ./mtlsform.yaml]" in words("plan", "--help")
    monkeypatch.setenv("MTLSFORM_STACK", "stacks/sni.yaml")
    assert "[now: stacks/sni.yaml, from MTLSFORM_STACK]" in words("state", "list", "--help")
    assert "[now:" not in cli("certs", "inspect", "--help").out
