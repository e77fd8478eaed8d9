"""The data plane is part of the emulator product: it imports nothing of the mtlsform engine,
and of the emulator only the world and the exceptions (errors.py, a leaf)."""

import ast
from pathlib import Path

import mtlsform.emulator.dataplane as package

ALLOWED = ("mtlsform.emulator.dataplane", "mtlsform.emulator.world", "mtlsform.emulator.errors",
           "mtlsform.sensitive")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_dataplane_imports_only_the_world_and_leaf_modules_of_mtlsform():
    folder = Path(package.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) > 10
    for module in modules:
        ours = {name for name in imported_modules(module) if name.startswith("mtlsform")}
        wrong = {name for name in ours if not name.startswith(ALLOWED)}
        assert not wrong, f"{module.name} imports {sorted(wrong)}"
