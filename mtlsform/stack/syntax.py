"""YAML syntax errors as diagnostics: one clear message at the place the parser stopped."""

from __future__ import annotations

import yaml

from mtlsform.diagnostics import Diagnostic, Position, error

_HINTS = {
    "mapping values are not allowed here": "a value that contains ': ' must be quoted",
    "could not find expected ':'": "a key needs ': ' after it",
    "found unexpected end of stream": "a quote or bracket is not closed",
    "found undefined tag handle": "a value starting with '!' must be quoted",
    "found character '%' that cannot start any token": "quote a value that starts with '%'",
    "found character '@' that cannot start any token": "quote a value that starts with '@'",
    "found character '`' that cannot start any token": "quote a value that starts with '`'",
}


def syntax_error(text: str, file: str, exc: yaml.YAMLError) -> Diagnostic:
    """The diagnostic for a YAML error raised while parsing `text`."""
    line, column = _location(text, exc)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    tab = (line, column) if "'\\t'" in problem else _indent_tab(text, line)
    if tab is not None:
        return error("a tab is used for indentation; YAML indents with spaces only",
                     position=Position(file, *tab), hint="replace the tab with spaces")
    hint = _HINTS.get(problem)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if hint is None and context and context_mark is not None:
        hint = f"{context} that starts at line {context_mark.line + 1}, column " \
               f"{context_mark.column + 1}"
    return error(f"YAML syntax error: {problem}", position=Position(file, line, column),
                 hint=hint)


def _location(text: str, exc: yaml.YAMLError) -> tuple[int, int]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1, mark.column + 1
    index = getattr(exc, "position", None)  # ReaderError: a bad character at an index
    if isinstance(index, int):
        line = text.count("\n", 0, index) + 1
        return line, index - (text.rfind("\n", 0, index) + 1) + 1
    return 1, 1


def _indent_tab(text: str, line_number: int) -> tuple[int, int] | None:
    """(line, column) of a tab in the indentation of the line where parsing failed."""
    lines = text.splitlines()
    if not 1 <= line_number <= len(lines):
        return None
    line = lines[line_number - 1]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return (line_number, indent.index("\t") + 1) if "\t" in indent else None
