"""Variable files (`--var-file FILE`): one environment's values, as a YAML or JSON mapping.

    domain: prod.example.com
    port: 8443

Each value is a scalar, taken as its text as `--var NAME=VALUE` would give it (`8443`, `true`).
Files are read in the order given; a later file wins over an earlier one, `--var` over every
file, and files over `MTLSFORM_VAR_NAME` and the stack's defaults. Every problem is positioned
in the file it is in (file:line:column): a file that is not a mapping, a value that is a list
or a mapping, a name the stack does not declare (checked where the variables are resolved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtlsform.diagnostics import Diagnostic, Position, error
from mtlsform.stack.compose import compose
from mtlsform.stack.source import read_source
from mtlsform.stack.tree import MapNode, Scalar, SeqNode
from mtlsform.stack.values import as_text

EXAMPLE = "a mapping of variable names to values, e.g. `domain: prod.example.com`"


@dataclass(frozen=True)
class VarFile:
    """One variable file's values (as text) and where each name is written."""

    path: str
    values: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)


def read_var_file(path: Path) -> tuple[VarFile | None, list[Diagnostic]]:
    """The values of one variable file, or None and its problems."""
    text, problems = read_source(Path(path))
    file = str(path)
    if text is None:
        return None, [_reworded(d, file) for d in problems]
    if not text.strip() or all(line.lstrip().startswith("#") or not line.strip()
                               for line in text.splitlines()):
        return VarFile(file), []  # an empty file sets nothing
    composed = compose(text, file)
    if composed.root is None:
        return None, [_reworded(d, file) for d in composed.diagnostics]
    if composed.diagnostics:
        return None, composed.diagnostics
    values: dict[str, str] = {}
    keys: dict[str, Position] = {}
    errors: list[Diagnostic] = []
    root: MapNode = composed.root
    for name, node in root.values.items():
        if isinstance(node, MapNode | SeqNode) or not isinstance(node, Scalar):
            kind = "a mapping" if isinstance(node, MapNode) else "a list"
            errors.append(error(f"variable {name!r}: expected a single value, found {kind}",
                                position=node.pos, hint="variables hold one value each (text, "
                                "a number or true/false)"))
            continue
        if node.value is None:
            errors.append(error(f"variable {name!r} has no value", position=node.pos,
                                hint=f"write a value after `{name}:`, or leave the line out"))
            continue
        values[name] = as_text(node.value)
        keys[name] = root.keys[name]
    if errors:
        return None, errors
    return VarFile(file, values, keys), []


def read_var_files(paths: Sequence[Path]) -> tuple[list[VarFile], list[Diagnostic]]:
    """Every file's values, in the order given, and the problems of all of them."""
    files: list[VarFile] = []
    problems: list[Diagnostic] = []
    for path in paths:
        read, found = read_var_file(path)
        problems += found
        if read is not None:
            files.append(read)
    return files, problems


def _reworded(diagnostic: Diagnostic, file: str) -> Diagnostic:
    """A problem found by the stack file's readers, worded for a variable file."""
    message = diagnostic.message
    if "top level of a stack" in message:
        return error(f"a variable file must be {EXAMPLE}", position=diagnostic.position,
                     hint="--var-file takes YAML or JSON")
    return error(message.replace("not a stack file", "not a variable file"),
                 position=diagnostic.position,
                 hint=f"--var-file {file}: check the path" if "no such file" in message
                 else diagnostic.hint)
