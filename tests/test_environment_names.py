"""One name for each environment variable: every variable mtlsform reads is spelled as a whole
string exactly once in the product (where its constant is defined) and used through it."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mtlsform"
NAME = re.compile(r"^(MTLSFORM_[A-Z0-9_]*|TENCENTCLOUD_[A-Z0-9_]+|NO_COLOR)$")


def spelled_names(paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and NAME.match(node.value):
                found[node.value].append(f"{path.name}:{node.lineno}")
    return found


def test_each_environment_variable_is_spelled_once():
    found = spelled_names(sorted(PACKAGE.rglob("*.py")))
    assert len(found) >= 10  # the scan sees the variables (a broken pattern would see none)
    twice = {name: places for name, places in found.items() if len(places) > 1}
    assert twice == {}


def test_the_scan_finds_a_second_spelling(tmp_path):
    one, two = tmp_path / "a.py", tmp_path / "b.py"
    one.write_text('PASSPHRASE_ENV = "MTLSFORM_STATE_PASSPHRASE"\n')
    two.write_text('value = environ.get("MTLSFORM_STATE_PASSPHRASE")\n')
    assert len(spelled_names([one, two])["MTLSFORM_STATE_PASSPHRASE"]) == 2
