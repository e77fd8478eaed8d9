"""The `${...}` syntax inside strings: `${var.NAME}`, `${TYPE.NAME.ATTRIBUTE}`, and `$${` escapes.

`${var.NAME}` may appear in any string value; `${TYPE.NAME.ATTRIBUTE}` (a resource attribute known
after apply) only in outputs. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mtlsform.stack.model import Reference
from mtlsform.stack.values import quote

_VAR = re.compile(r"var\.([A-Za-z][A-Za-z0-9_-]{0,62})")
_REF = re.compile(r"([a-z_]+)\.([A-Za-z][A-Za-z0-9_-]*)\.([a-z_]+)")

# Attributes an output may refer to, by resource type (known after apply).
REFERENCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "load_balancer": ("id", "vip", "name"),
    "listener": ("id", "port"),
    "certificate": ("fingerprint", "not_after", "serial"),
    "ssl_certificate": ("id",),
}


@dataclass(frozen=True)
class Part:
    """A piece of a template: literal text, a variable, a reference, or a malformed `${`."""

    kind: Literal["text", "var", "ref", "bad"]
    text: str  # literal text (escapes resolved), or the whole `${...}` as written
    offset: int = 0  # where it starts in the string
    name: str = ""  # variable name
    reference: Reference | None = None
    problem: str = ""


def has_interpolation(text: str) -> bool:
    return "${" in text


def parse_template(text: str) -> list[Part]:
    """The parts of a string, in order; consecutive literal text is merged."""
    parts: list[Part] = []
    literal: list[str] = []
    literal_start = 0
    i = 0

    def flush() -> None:
        if literal:
            parts.append(Part("text", "".join(literal), literal_start))
            literal.clear()

    while i < len(text):
        if text.startswith("$${", i):
            if not literal:
                literal_start = i
            literal.append("${")
            i += 3
            continue
        if not text.startswith("${", i):
            if not literal:
                literal_start = i
            literal.append(text[i])
            i += 1
            continue
        flush()
        end = text.find("}", i + 2)
        if end < 0:
            parts.append(Part("bad", text[i:], i, problem="'${' is not closed by '}'"))
            return parts
        parts.append(_token(text[i:end + 1], i))
        i = end + 1
    flush()
    return parts


def _token(token: str, offset: int) -> Part:
    inner = token[2:-1].strip()
    match = _VAR.fullmatch(inner)
    if match:
        return Part("var", token, offset, name=match.group(1))
    if inner.startswith("var."):
        return Part("bad", token, offset,
                    problem=f"{quote(inner[4:])} is not a variable name")
    match = _REF.fullmatch(inner)
    if match:
        return Part("ref", token, offset, reference=Reference(*match.groups()))
    return Part("bad", token, offset,
                problem=f"{token} is neither ${{var.NAME}} nor ${{TYPE.NAME.ATTRIBUTE}}")


def escape(text: str) -> str:
    """Text that reads back as itself in a template (`${` becomes `$${`)."""
    return text.replace("${", "$${")
