"""The engine never names a resource type: only `resources/` and the provider may.

A string constant in plan/, apply/, session.py or cli/ equal to a registered type name (or an
address built from one, like "listener.https") means the engine knows a type it should ask the
registry about.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mtlsform.resources import RESOURCE_TYPES

PACKAGE = Path(__file__).resolve().parents[1] / "mtlsform"
ENGINE = ("plan", "apply", "session.py", "runs.py", "cli", "dag.py", "addresses.py")


def engine_sources() -> list[Path]:
    found: list[Path] = []
    for part in ENGINE:
        target = PACKAGE / part
        found += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return found


def type_names_in(path: Path, names: set[str]) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    address = re.compile(rf"^({'|'.join(map(re.escape, names))})\.\S+$")
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            text = node.value
            if text in names or address.match(text):
                hits.append((node.lineno, text))
    return hits


def test_no_engine_module_names_a_resource_type():
    names = set(RESOURCE_TYPES)
    hits = [f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
            for path in engine_sources() for line, text in type_names_in(path, names)]
    assert hits == []


def test_the_check_finds_a_type_name(tmp_path):
    # The check above is only worth something if it can fail; docstrings do not count.
    sample = tmp_path / "sample.py"
    sample.write_text('"""A listener and its rules."""\n'
                      'if change.address.type == "listener":\n'
                      '    x = "load_balancer.web"\n')
    assert type_names_in(sample, set(RESOURCE_TYPES)) == [(2, "listener"),
                                                           (3, "load_balancer.web")]
