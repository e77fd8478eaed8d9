"""The verify and emulator commands name no resource type: the report's column titles come
from the verification package (checked on the source's string literals)."""

from __future__ import annotations

import ast
from pathlib import Path

from mtlsform.verification import REPORT_COLUMNS, CheckResult

CLI = Path(__file__).resolve().parents[2] / "mtlsform" / "cli"
TYPE_NAMES = {"certificate", "ssl_certificate", "load_balancer", "listener", "rule", "target"}


def string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_commands_hold_no_type_name_literal() -> None:
    for name in ("verify.py", "emulator.py"):
        assert string_literals(CLI / name) & TYPE_NAMES == set(), name


def test_the_report_table_is_defined_by_the_verification_package() -> None:
    result = CheckResult("https", "www.example.com", "balance", "pass", "3:1", url="/api")
    assert len(result.cells()) == len(REPORT_COLUMNS)
    assert result.cells() == ("https", "www.example.com/api", "d spread over the backends",
                              "pass", "3:1")
