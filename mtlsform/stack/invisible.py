"""Invisible and direction-changing characters: refused in every key and text of a stack.

A right-to-left override (U+202E) makes `client-\\u202e1gpj.exe` display as `client-exe.jpg1`;
zero-width and other format characters make two names that look the same differ. None of them
has a use in a stack (no field holds free text or PEM), so each key or text holding one is
reported once, with the characters escaped and named, and its path is poisoned so no later
message shows the raw text. Messages and paths built here never contain a refused character.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from mtlsform.diagnostics import Diagnostic, Position, error
from mtlsform.stack.tree import MapNode, Node, Path, PathPart, Scalar, format_path
from mtlsform.stack.values import escape_char, escape_text, is_refused

HINT = ("remove it: such characters are invisible or change how the text around them is shown; "
        "type the text again in plain characters")
_VALUE_LIMIT = 60
# Controls have no name in unicodedata; these are the ones a stack file is likely to hold.
_CONTROL_NAMES = {0x00: "NULL", 0x08: "BACKSPACE", 0x09: "CHARACTER TABULATION",
                  0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE"}


def char_name(char: str) -> str:
    """The character's Unicode name, or what it is when it has none (controls, surrogates)."""
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "")
    if name:
        return name
    return "a surrogate" if unicodedata.category(char) == "Cs" else "a control character"


def problem(text: str) -> str | None:
    """What is wrong with `text` (its refused characters, escaped and named), or None."""
    found = list(dict.fromkeys(c for c in text if is_refused(c)))
    if not found:
        return None
    listed = [f"{escape_char(c)} ({char_name(c)})" for c in found]
    which = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    return f"{_shown(text)} contains {which}"


def check_tree(root: MapNode) -> tuple[list[Diagnostic], list[Path]]:
    """One diagnostic for each key and each text of the tree holding a refused character.

    Returns the diagnostics and the paths they poison (the value's path; for a key, the path
    of the entry it names). A node shared through aliases is reported once.
    """
    walker = _Walker()
    walker.walk(root, ())
    return walker.diagnostics, walker.poisoned


def check_variable(name: str, value: str, source: str, position: Position | None) -> (
        Diagnostic | None):
    """The diagnostic for a variable value given outside the file (`--var`, environment)."""
    found = problem(value)
    if found is None:
        return None
    return error(f"the value given by {escape_text(source)} {found}",
                 path=f"variables.{escape_text(name)}", position=position, hint=HINT)


def check_names(names: Mapping[str, str], what: str) -> list[Diagnostic]:
    """Diagnostics for names (of `--var` or the environment) holding a refused character."""
    return [error(f"{what} name {found}", hint=HINT)
            for name in sorted(names) if (found := problem(name)) is not None]


def _shown(text: str) -> str:
    """The text escaped and quoted, shortened (never inside an escape) when long."""
    shown = escape_text(text)
    if len(shown) > _VALUE_LIMIT:
        cut = _VALUE_LIMIT - 3
        backslash = shown.rfind("\\", max(0, cut - 9), cut)
        shown = shown[: backslash if backslash >= 0 else cut] + "..."
    return f"'{shown}'" if "'" not in shown else f'"{shown}"'


class _Walker:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.poisoned: list[Path] = []
        self.seen_nodes: set[int] = set()
        self.seen_keys: set[tuple[Position, str]] = set()

    def walk(self, node: Node, path: Path) -> None:
        if id(node) in self.seen_nodes:
            return
        self.seen_nodes.add(id(node))
        if isinstance(node, Scalar):
            if isinstance(node.value, str):
                self.report(node.value, path, node.pos, "")
            return
        children: list[tuple[PathPart, Node]]
        if isinstance(node, MapNode):
            for key, pos in node.keys.items():
                if (pos, key) not in self.seen_keys:
                    self.seen_keys.add((pos, key))
                    self.report(key, (*path, key), pos, "the key ")
            children = list(node.values.items())
        else:
            children = list(enumerate(node.items))
        for part, item in children:
            self.walk(item, (*path, part))

    def report(self, text: str, path: Path, pos: Position, what: str) -> None:
        found = problem(text)
        if found is None:
            return
        self.diagnostics.append(error(what + found, path=format_path(path), position=pos,
                                      hint=HINT))
        self.poisoned.append(path)
