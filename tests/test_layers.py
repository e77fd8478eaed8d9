"""Import directions: data flows stack -> graph -> plan -> apply -> state; providers, pki and
the emulator sit below the engine and never reach up into it; no two packages import each
other, however indirectly (checked on the source, including imports inside functions).

A "package" here is a top-level part of mtlsform: a subpackage (mtlsform/plan/) or a module
(mtlsform/dag.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mtlsform.dag import Dag

PACKAGE = Path(__file__).resolve().parents[1] / "mtlsform"

# package -> the mtlsform packages it must never import
FORBIDDEN = {
    "stack": ("plan", "apply", "state", "providers", "resources", "session", "cli", "emulator",
              "verification"),
    "dag": ("addresses", "stack", "plan", "apply", "state", "providers", "resources", "session",
            "cli", "emulator", "pki"),
    "addresses": ("stack", "plan", "apply", "state", "providers", "resources", "session",
                  "cli", "emulator", "pki", "dag"),
    "pki": ("stack", "plan", "apply", "state", "providers", "resources", "session", "cli",
            "emulator", "dag"),
    "state": ("stack", "plan", "apply", "providers", "resources", "session", "cli", "emulator",
              "pki", "dag"),
    "providers": ("plan", "apply", "state", "resources", "session", "cli"),
    "resources": ("plan", "apply", "cli", "session", "state"),
    "plan": ("apply", "cli", "session"),
    "apply": ("cli", "session"),
}
# What the stack language may use outside itself: leaves, and pki (lazily, for the certificate
# content checks), which knows nothing of the stack.
STACK_ALLOWED = ("stack", "dag", "addresses", "diagnostics", "errors", "sensitive", "pki")
EMULATOR_ALLOWED = ("emulator", "sensitive")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "mtlsform":
                found.update(f"mtlsform.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("mtlsform.")}


def packages() -> list[str]:
    names = [p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    names += [p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")]
    return sorted(names)


def sources(package: str) -> list[Path]:
    target = PACKAGE / package
    return sorted(target.rglob("*.py")) if target.is_dir() else [PACKAGE / f"{package}.py"]


def package_imports(package: str) -> set[str]:
    return {module.split(".")[1] for path in sources(package)
            for module in imported_modules(path)} - {package}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package):
    bad = []
    for path in sources(package):
        for module in imported_modules(path):
            top = module.split(".")[1]
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert bad == []


def test_no_package_cycle():
    names = packages()
    edges = {name: sorted(package_imports(name) & set(names)) for name in names}
    cycles = Dag(names, edges).find_cycles()
    assert [" -> ".join((*c, c[0])) for c in cycles] == []


def test_the_cycle_check_sees_a_cycle():
    # The check above is only worth something if it can fail.
    cycles = Dag(["a", "b", "c"], {"a": ["b"], "b": ["c"], "c": ["a"]}).find_cycles()
    assert cycles == [("a", "b", "c")]


def test_the_stack_language_uses_only_leaves():
    bad = sorted(package_imports("stack") - set(STACK_ALLOWED))
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
