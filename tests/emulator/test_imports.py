"""The emulator is a separate product: it imports nothing of the mtlsform engine."""

from __future__ import annotations

import ast
from pathlib import Path

import mtlsform.emulator

FORBIDDEN = ("mtlsform.stack", "mtlsform.plan", "mtlsform.apply", "mtlsform.state",
             "mtlsform.providers", "mtlsform.pki", "mtlsform.resources", "mtlsform.graph",
             "mtlsform.cli", "mtlsform.verify")


def test_emulator_imports_no_engine_module() -> None:
    root = Path(mtlsform.emulator.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(root)}: {name}" for name in names
                          if name.startswith(FORBIDDEN)]
    assert offenders == []
