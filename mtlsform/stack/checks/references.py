"""References by name between sections: the one wording for a name that does not exist."""

from __future__ import annotations

from collections.abc import Mapping

from mtlsform.diagnostics import Diagnostic, Position, error
from mtlsform.stack.build import Parts
from mtlsform.stack.suggest import did_you_mean

NOUNS = {
    "certificates": "certificate",
    "load_balancers": "load balancer",
    "backends": "backend",
    "listeners": "listener",
}


def exists(parts: Parts, section: str, name: str) -> bool:
    """True when the stack declares `name` in `section` (even if that item has errors)."""
    return name in parts.names.get(section, {})


def unknown(parts: Parts, section: str, name: str, *, path: str,
            position: Position | None) -> Diagnostic:
    """`unknown backend 'rs-3'` with the closest name, or where to declare it."""
    names: Mapping[str, Position] = parts.names.get(section, {})
    hint = did_you_mean(name, names) or f"declare it under {section}:"
    return error(f"unknown {NOUNS[section]} {name!r}", path=path, position=position, hint=hint)


def line_of(position: Position | None) -> str:
    """`line 12` for cross-references inside a message."""
    return f"line {position.line}" if position is not None else "elsewhere"
