"""The session and the CLI name no resource type: they ask the types (resources.RESOURCE_TYPES)."""

from __future__ import annotations

import ast
from pathlib import Path

from mtlsform.resources import RESOURCE_TYPES

PACKAGE = Path(__file__).resolve().parents[1] / "mtlsform"
TYPE_NAMES = {"certificate", "ssl_certificate", "load_balancer", "listener", "rule", "target"}
CHECKED = [PACKAGE / "session.py", PACKAGE / "runs.py", *sorted((PACKAGE / "cli").rglob("*.py"))]
# Words that are type names but name something else here: (file, word) -> what it is.
ALLOWED = {("cli/verify.py", "listener"): "a column title of the verify report"}


def string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_names_checked_are_the_registry():
    assert set(RESOURCE_TYPES) == TYPE_NAMES


def test_session_and_cli_name_no_resource_type():
    found = [f"{path.relative_to(PACKAGE)}: {name!r}"
             for path in CHECKED for name in sorted(string_constants(path) & TYPE_NAMES)
             if (str(path.relative_to(PACKAGE)), name) not in ALLOWED]
    assert found == []
