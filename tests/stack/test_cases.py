"""Fixture cases: each tests/stack/cases/NAME.yaml holds a stack with its problems, and
NAME.expected the exact diagnostics (one per line, as `mtlsform validate` prints them).

Adding a case needs no Python: write the stack, then its .expected file. Optional header lines
set variables: `# var: NAME=VALUE` (as --var) and `# env: NAME=VALUE` (as the environment).
Run with MTLSFORM_UPDATE_CASES=1 to (re)write .expected files, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtlsform.diagnostics import has_errors
from mtlsform.stack import load_stack

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(CASES_DIR.glob("*.yaml"))


def _header(case: Path) -> tuple[dict[str, str], dict[str, str]]:
    cli_vars: dict[str, str] = {}
    environ: dict[str, str] = {}
    for line in case.read_bytes().decode("utf-8", "replace").splitlines():
        for prefix, target in (("# var: ", cli_vars), ("# env: ", environ)):
            if line.startswith(prefix):
                name, _, value = line[len(prefix):].partition("=")
                target[name] = value
    return cli_vars, environ


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES_DIR)
    cli_vars, environ = _header(case)
    stack, diagnostics = load_stack(Path(case.name), cli_vars, environ)
    lines = [d.format() for d in diagnostics]
    expected_file = case.with_suffix(".expected")
    if os.environ.get("MTLSFORM_UPDATE_CASES") == "1":
        expected_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    assert lines == expected_file.read_text(encoding="utf-8").splitlines()
    assert lines, "a case must show at least one diagnostic"
    # A stack is returned exactly when there is no error.
    assert (stack is None) == has_errors(diagnostics)


def test_every_case_has_an_expected_file() -> None:
    missing = [c.name for c in CASES if not c.with_suffix(".expected").is_file()]
    orphans = [e.name for e in CASES_DIR.glob("*.expected") if not e.with_suffix(".yaml").is_file()]
    assert not missing and not orphans
