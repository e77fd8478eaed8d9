"""Diagnostics: user mistakes as values (severity, where, what, hint), never raised here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Position:
    """A place in a source file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in user input.

    `path` says where in the stack (e.g. `listeners.https.port`); `position` says where in the
    file. Either may be missing (a problem with no file, or one about the whole document).
    """

    severity: Severity
    message: str
    path: str = ""
    position: Position | None = None
    hint: str | None = None

    def format(self) -> str:
        """The one-line human form: `file:line:col: error: path: message (hint: ...)`."""
        parts = []
        if self.position is not None:
            parts.append(f"{self.position}: ")
        parts.append(f"{self.severity}: ")
        if self.path:
            parts.append(f"{self.path}: ")
        parts.append(self.message)
        if self.hint:
            parts.append(f" (hint: {self.hint})")
        return "".join(parts)

    def to_json(self) -> dict[str, str | int | None]:
        pos = self.position
        return {
            "severity": self.severity,
            "file": pos.file if pos else None,
            "line": pos.line if pos else None,
            "column": pos.column if pos else None,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


def error(message: str, *, path: str = "", position: Position | None = None,
          hint: str | None = None) -> Diagnostic:
    return Diagnostic("error", message, path, position, hint)


def warning(message: str, *, path: str = "", position: Position | None = None,
            hint: str | None = None) -> Diagnostic:
    return Diagnostic("warning", message, path, position, hint)


def _sort_key(d: Diagnostic) -> tuple[bool, str, int, int, str, str]:
    pos = d.position
    return (
        pos is None,
        pos.file if pos else "",
        pos.line if pos else 0,
        pos.column if pos else 0,
        d.path,
        d.message,
    )


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by file position (diagnostics without one last), duplicates removed."""
    seen: set[Diagnostic] = set()
    unique = []
    for d in diags:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return sorted(unique, key=_sort_key)


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diags)
