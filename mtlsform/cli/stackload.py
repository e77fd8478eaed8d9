"""Loading a stack for a command: --var arguments, printing diagnostics, exit code 1 on errors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.diagnostics import Diagnostic, error, has_errors
from mtlsform.errors import InputError

if TYPE_CHECKING:
    from rich.text import Text

    from mtlsform.stack.model import Stack


def parse_var_args(var_args: Iterable[str]) -> tuple[dict[str, str], list[Diagnostic]]:
    """`--var NAME=VALUE` arguments as a mapping (a later one wins), and bad ones as errors."""
    values: dict[str, str] = {}
    problems = []
    for arg in var_args:
        name, sep, value = arg.partition("=")
        if not sep or not name.strip():
            problems.append(error(f"--var {arg!r}: expected NAME=VALUE",
                                  hint="e.g. --var domain=www.example.com"))
            continue
        values[name.strip()] = value
    return values, problems


def print_diagnostics(diagnostics: Iterable[Diagnostic], *, json_output: bool) -> None:
    """Human lines on stderr, or (json_output) the JSON list on stdout."""
    diagnostics = list(diagnostics)
    if json_output:
        text = json.dumps([d.to_json() for d in diagnostics], indent=2, ensure_ascii=False)
        write_out(text + "\n")
        return
    err = console.err()
    for diagnostic in diagnostics:
        line = diagnostic.format()
        if console.color_enabled():
            style = "bold red" if diagnostic.severity == "error" else "yellow"
            err.print(_styled(line, diagnostic.severity, style), highlight=False)
        else:
            err.print(line, markup=False, highlight=False, emoji=False)


def write_out(text: str) -> None:
    """Exact text on stdout (no markup, wrapping or emoji codes)."""
    out = console.out().file
    out.write(console.safe_text(text))
    out.flush()


def load_stack_or_exit(path: Path, var_args: list[str], *, json_output: bool = False,
                       var_files: Sequence[Path] = (), workspace: str | None = None) -> Stack:
    """The stack at `path`, after printing its warnings; on errors, prints them and exits 1.

    With `json_output`, errors are printed as the JSON list on stdout; warnings of a valid stack
    always go to stderr, so that stdout holds only the command's own JSON.
    """
    stack, diagnostics = load_with_vars(path, var_args, var_files=var_files,
                                        workspace=workspace)
    if stack is None:
        print_diagnostics(diagnostics, json_output=json_output)
        raise typer.Exit(1)
    if diagnostics:
        print_diagnostics(diagnostics, json_output=False)
    return stack


def load_stack_or_raise(path: Path, var_args: list[str], *, var_files: Sequence[Path] = (),
                        workspace: str | None = None) -> Stack:
    """The stack at `path`, after printing its warnings; its errors as one InputError (the
    first error, and how many more), for commands that do not list every diagnostic."""
    stack, diagnostics = load_with_vars(path, var_args, var_files=var_files,
                                        workspace=workspace)
    if stack is None:
        errors = [d for d in diagnostics if d.severity == "error"]
        first = errors[0] if errors else None
        where = f"{first.position}: " if first and first.position else ""
        what = f"{first.path}: {first.message}" if first and first.path else \
            (first.message if first else "not a valid stack")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{where}{what}{more}", hint=f"run: mtlsform validate {path}")
    if diagnostics:
        print_diagnostics(diagnostics, json_output=False)
    return stack


def workspace_given(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The workspace asked for: --workspace, else MTLSFORM_WORKSPACE, else None (default)."""
    from mtlsform.state.workspaces import WORKSPACE_ENV

    environ = os.environ if environ is None else environ
    if given is not None:
        return given
    return environ.get(WORKSPACE_ENV) or None


def workspace_diagnostic(given: str | None, name: str) -> Diagnostic | None:
    """The problem with a workspace name (from --workspace when `given`, else the env)."""
    from mtlsform.state.workspaces import NAME_RULE, WORKSPACE_ENV, workspace_problem

    found = workspace_problem(name)
    if found is None:
        return None
    where = f"--workspace {name!r}" if given is not None else f"{WORKSPACE_ENV}={name!r}"
    return error(f"{where}: {found}; a workspace name is {NAME_RULE}",
                 hint="e.g. --workspace prod")


def load_with_vars(path: Path, var_args: list[str], *, var_files: Sequence[Path] = (),
                   workspace: str | None = None) -> tuple[Stack | None, list[Diagnostic]]:
    """load_stack with --var and --var-file arguments, the process environment and the
    workspace (--workspace, else MTLSFORM_WORKSPACE); bad ones are diagnostics."""
    from dataclasses import replace

    from mtlsform.stack import load_stack
    from mtlsform.stack.varfiles import read_var_files

    cli_vars, problems = parse_var_args(var_args)
    name = workspace_given(workspace) or "default"
    bad_name = workspace_diagnostic(workspace, name)
    if bad_name is not None:
        problems.append(bad_name)
    files, file_problems = read_var_files(var_files)
    problems += file_problems
    if problems:
        return None, problems
    stack, diagnostics = load_stack(path, cli_vars, os.environ, files)
    if stack is not None and name != stack.workspace:
        stack = replace(stack, workspace=name)
    if stack is not None and stack.moved:
        from mtlsform.diagnostics import sort_diagnostics
        from mtlsform.plan.moves import check_moves
        from mtlsform.resources.graph import resource_graph

        diagnostics = sort_diagnostics(
            [*diagnostics, *check_moves(stack, resource_graph(stack).nodes)])
    return (stack if not has_errors(diagnostics) else None), diagnostics


def _styled(line: str, severity: str, style: str) -> Text:
    from rich.text import Text

    text = Text(line)
    start = line.find(f"{severity}:")
    if start >= 0:
        text.stylize(style, start, start + len(severity) + 1)
    return text


def validate_stacks(paths: list[Path], var_args: list[str], *, json_output: bool,
                    var_files: Sequence[Path] = ()) -> int:
    """Checks each stack and prints the outcome; the exit code (0 all valid, 1 otherwise)."""
    from mtlsform.resources.graph import resource_graph

    collected: list[Diagnostic] = []
    failed = False
    for path in paths:
        stack, diagnostics = load_with_vars(path, var_args, var_files=var_files)
        collected += diagnostics
        failed = failed or stack is None
        if json_output:
            continue
        print_diagnostics(diagnostics, json_output=False)
        warnings = _count(diagnostics, "warning")
        if stack is not None:
            extra = f", {warnings}" if warnings else ""
            write_out(f"{path}: valid ({len(resource_graph(stack))} resources{extra})\n")
        else:
            errors = _count(diagnostics, "error")
            console.err().print(f"{path}: invalid ({errors}{', ' + warnings if warnings else ''})",
                                markup=False, highlight=False, emoji=False)
    if json_output:
        print_diagnostics(collected, json_output=True)
    return 1 if failed else 0


def _count(diagnostics: list[Diagnostic], severity: str) -> str:
    n = sum(1 for d in diagnostics if d.severity == severity)
    return f"{n} {severity}{'s' if n != 1 else ''}" if n else ""
