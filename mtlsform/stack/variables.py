"""Variables: their values (default < MTLSFORM_VAR_name < --var) and `${var.NAME}` substitution.

A scalar that is exactly one `${var.NAME}` takes the variable's value as YAML would read it
unquoted (`port: ${var.port}` with "443" gives the integer 443; the schema check turns it back
into text where a string is expected); anywhere else the value is inserted as text. In outputs,
references to resources stay in the text for the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.compose import plain_value
from mtlsform.stack.interpolation import Part, escape, parse_template
from mtlsform.stack.invisible import check_names, check_variable
from mtlsform.stack.suggest import did_you_mean, one_of
from mtlsform.stack.tree import MapNode, Node, Path, Scalar, SeqNode, format_path, position_in
from mtlsform.stack.values import as_text, escape_text
from mtlsform.stack.varfiles import VarFile

ENV_PREFIX = "MTLSFORM_VAR_"


@dataclass
class Variables:
    """Resolved variable values, and names whose uses must not be reported again."""

    values: dict[str, object] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)
    unusable: set[str] = field(default_factory=set)  # reported once at the declaration
    diagnostics: list[Diagnostic] = field(default_factory=list)


def resolve_variables(root: MapNode, cli_vars: Mapping[str, str], environ: Mapping[str, str],
                      poisoned: Iterable[Path] = (),
                      var_files: Sequence[VarFile] = ()) -> Variables:
    """The value of each declared variable, with a diagnostic for each one that has none.

    Variables whose default was already reported (`poisoned`) are unusable, silently. Values
    of `var_files` (stack/varfiles.py) come between the environment's and `cli_vars`.
    """
    result = Variables()
    section = root.values.get("variables")
    declared = section.values if isinstance(section, MapNode) else {}
    result.declared = set(declared)
    result.diagnostics += check_names(cli_vars, "the --var")
    from_files: dict[str, tuple[str, VarFile]] = {}
    for var_file in var_files:
        result.diagnostics += [replace(d, position=var_file.keys.get(n)) for n in
                               sorted(var_file.values)
                               for d in check_names({n: ""}, f"{var_file.path}: the variable")]
        for name, text in var_file.values.items():
            if name in declared:
                from_files[name] = (text, var_file)
            elif escape_text(name) == name:
                hint = did_you_mean(name, declared) or (
                    f"declared variables: {one_of(declared)}" if declared
                    else "declare it under variables: first")
                result.diagnostics.append(error(
                    f"variable {name!r}: the stack declares no such variable",
                    position=var_file.keys[name], hint=hint))
    for name in sorted(cli_vars):
        if name not in declared and escape_text(name) == name:
            hint = did_you_mean(name, declared) or (
                f"declared variables: {one_of(declared)}" if declared
                else "declare it under variables: first")
            result.diagnostics.append(error(
                f"--var {name}: the stack declares no variable {name!r}", hint=hint))
    already_reported = {p[1] for p in poisoned if len(p) == 2 and p[0] == "variables"}
    for name, node in declared.items():
        if not isinstance(node, Scalar) or name in already_reported:
            result.unusable.add(name)  # the schema reports the wrong type
            continue
        assert isinstance(section, MapNode)
        if isinstance(node.value, str) and "${" in node.value:
            result.unusable.add(name)
            result.diagnostics.append(error(
                "a variable's default cannot use ${...}", path=f"variables.{name}",
                position=node.pos, hint="defaults are plain values; set computed ones with "
                                        f"--var or {ENV_PREFIX}{name}"))
            continue
        in_file = from_files.get(name)
        source = (f"--var {name}" if name in cli_vars
                  else f"{in_file[1].path} ({name})" if in_file is not None
                  else ENV_PREFIX + name if ENV_PREFIX + name in environ else None)
        if source is None:
            value: object = node.value
        else:
            value = (cli_vars[name] if name in cli_vars else in_file[0] if in_file is not None
                     else environ[ENV_PREFIX + name])
            where = (in_file[1].keys[name] if in_file is not None and name not in cli_vars
                     else section.keys[name])
            refused = check_variable(name, str(value), source, where)
            if refused is not None:
                result.unusable.add(name)
                result.diagnostics.append(refused)
                continue
        if value is None:
            result.unusable.add(name)
            result.diagnostics.append(error(
                f"variable {name!r} has no value (its default is null, so it must be set)",
                path=f"variables.{name}", position=section.keys[name],
                hint=f"set it with --var {name}=VALUE or {ENV_PREFIX}{name}=VALUE"))
            continue
        result.values[name] = value
    return result


def substitute(root: MapNode, variables: Variables) -> tuple[MapNode, list[Diagnostic],
                                                              list[Path]]:
    """The tree with variables replaced, problems found, and paths left unresolved."""
    walker = _Substitution(variables)
    new_root = walker.walk(root, ())
    assert isinstance(new_root, MapNode)
    return new_root, walker.diagnostics, walker.poisoned


class _Substitution:
    def __init__(self, variables: Variables) -> None:
        self.variables = variables
        self.diagnostics: list[Diagnostic] = []
        self.poisoned: list[Path] = []
        self.memo: dict[int, Node] = {}  # aliases share nodes: substitute (and report) once

    def walk(self, node: Node, path: Path) -> Node:
        if id(node) in self.memo:
            return self.memo[id(node)]
        if isinstance(node, Scalar):
            result: Node = self.scalar(node, path)
        elif isinstance(node, MapNode):
            values = {key: value if path == () and key == "variables"
                      else self.walk(value, (*path, key)) for key, value in node.values.items()}
            changed = any(values[k] is not v for k, v in node.values.items())
            result = MapNode(node.pos, values, node.keys) if changed else node
        else:
            items = [self.walk(item, (*path, i)) for i, item in enumerate(node.items)]
            changed = any(a is not b for a, b in zip(items, node.items, strict=True))
            result = SeqNode(node.pos, items) if changed else node
        self.memo[id(node)] = result
        return result

    def scalar(self, node: Scalar, path: Path) -> Scalar:
        if not isinstance(node.value, str) or "${" not in node.value:
            return node
        in_outputs = len(path) == 2 and path[0] == "outputs"
        parts = parse_template(node.value)
        if not self.check(node, path, parts, in_outputs):
            self.poisoned.append(path)
            return node
        values = self.variables.values
        if in_outputs:
            text = "".join(
                escape(p.text) if p.kind == "text"
                else escape(as_text(values[p.name])) if p.kind == "var"
                else f"${{{p.reference}}}" for p in parts)
            return replace(node, value=text)
        only = parts[0] if len(parts) == 1 and parts[0].kind == "var" else None
        if only is not None:
            value = values[only.name]
            text = as_text(value)
            typed = plain_value(value) if isinstance(value, str) else value
            return replace(node, value=typed, variable=only.name, text=text)
        text = "".join(p.text if p.kind == "text" else as_text(values[p.name]) for p in parts)
        return replace(node, value=text)

    def check(self, node: Scalar, path: Path, parts: list[Part], in_outputs: bool) -> bool:
        ok = True
        where = format_path(path)
        for part in parts:
            position = position_in(node, part.text, part.offset)
            if part.kind == "bad":
                ok = False
                hint = ("write $${ for a literal ${" if "not closed" in part.problem
                        else "write ${var.NAME}")
                self.diagnostics.append(error(part.problem, path=where, position=position,
                                              hint=hint))
            elif part.kind == "ref" and not in_outputs:
                ok = False
                self.diagnostics.append(error(
                    f"{part.text} refers to a resource attribute, which only outputs may do",
                    path=where, position=position,
                    hint="use ${var.NAME} here, or move this value to outputs:"))
            elif part.kind == "var" and part.name not in self.variables.values:
                ok = False
                if part.name in self.variables.unusable:
                    continue  # reported once, where the variable is declared
                declared = self.variables.declared
                self.diagnostics.append(error(
                    f"unknown variable {part.name!r} in {part.text}", path=where,
                    position=position,
                    hint=did_you_mean(part.name, declared) or "declare it under variables:"))
        return ok

