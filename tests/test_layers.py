"""Import directions: data flows stack -> graph -> plan -> apply -> state; providers, pki and
the emulator sit below the engine and never reach up into it (checked on the source, including
imports inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mtlsform"

# package -> the mtlsform modules it must never import
FORBIDDEN = {
    "stack": ("plan", "apply", "state", "providers", "resources", "session", "cli", "emulator",
              "verify", "verification"),
    "graph": ("plan", "apply", "state", "providers", "resources", "session", "cli", "emulator"),
    "pki": ("plan", "apply", "state", "providers", "resources", "session", "cli", "emulator",
            "graph"),
    "state": ("stack", "plan", "apply", "providers", "resources", "session", "cli", "emulator",
              "pki", "graph"),
    "providers": ("plan", "apply", "state", "resources", "session", "cli", "graph"),
    "plan": ("apply", "cli", "session"),
    "resources": ("apply", "cli", "session"),
    "apply": ("cli",),
}
EMULATOR_ALLOWED = ("emulator", "sensitive")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("mtlsform.")}


def sources(package: str) -> list[Path]:
    target = PACKAGE / package
    return sorted(target.rglob("*.py")) if target.is_dir() else [PACKAGE / f"{package}.py"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package):
    bad = []
    for path in sources(package):
        for module in imported_modules(path):
            top = module.split(".")[1]
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert bad == []


def test_emulator_is_a_separate_product():
    bad = [f"{path.relative_to(PACKAGE.parent)} imports {module}"
           for path in sources("emulator") for module in imported_modules(path)
           if module.split(".")[1] not in EMULATOR_ALLOWED]
    assert bad == []


def test_only_the_cli_writes_to_the_terminal():
    bad = [f"{path.relative_to(PACKAGE.parent)}"
           for package in ("stack", "plan", "apply", "state", "resources", "providers", "pki")
           for path in sources(package) if "mtlsform.cli.console" in imported_modules(path)]
    assert bad == []
