"""The positioned YAML tree: every mapping, sequence and scalar with the place it was written.

The composer (`compose.py`) builds it, variables rewrite scalars in it, the schema validates its
plain form, and the builder reads it. `position_of` is the one place where a path into the
document (a JSON pointer as a list of keys and indexes) becomes a file position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from mtlsform.diagnostics import Position
from mtlsform.stack.values import escape_text

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(eq=False, slots=True)
class Scalar:
    """A scalar value (str, int, float, bool or None) and where it was written."""

    value: object
    pos: Position
    # The scalar's source text when it sits on one line (to place a ${...} inside it exactly).
    raw: str | None = None
    # Set when the whole value came from ${var.NAME}: its name (for hints on later errors) and
    # its text (the schema may want the text where YAML read a number, and the other way round).
    variable: str | None = None
    text: str | None = None


@dataclass(eq=False, slots=True)
class MapNode:
    """A mapping: values and the positions of their keys, in file order."""

    pos: Position
    values: dict[str, Node] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class SeqNode:
    """A sequence of nodes."""

    pos: Position
    items: list[Node] = field(default_factory=list)


Node = Scalar | MapNode | SeqNode


@overload
def to_plain(node: MapNode) -> dict[str, Any]: ...
@overload
def to_plain(node: SeqNode) -> list[Any]: ...
@overload
def to_plain(node: Node) -> object: ...


def to_plain(node: Node) -> object:
    """The plain Python data (dict, list, scalars) the schema validator reads.

    A mapping's values are typed loosely (`Any`): what they hold is what the schema allows.
    """
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, MapNode):
        return {key: to_plain(value) for key, value in node.values.items()}
    return [to_plain(item) for item in node.items]


def child(node: Node | None, part: PathPart) -> Node | None:
    """The child at one step of a path, or None when there is none."""
    if isinstance(node, MapNode) and isinstance(part, str):
        return node.values.get(part)
    if isinstance(node, SeqNode) and isinstance(part, int) and 0 <= part < len(node.items):
        return node.items[part]
    return None


def get(node: Node | None, *path: PathPart) -> Node | None:
    """The node at a path below `node`, or None."""
    for part in path:
        node = child(node, part)
        if node is None:
            return None
    return node


def position_of(root: Node, path: Sequence[PathPart], *, key: bool = False) -> Position:
    """Where the value at `path` was written; with `key`, where its key was written.

    A path that does not resolve all the way gives the position of the deepest node reached,
    so a problem is always placed somewhere sensible.
    """
    node: Node = root
    pos = root.pos
    for part in path:
        nxt = child(node, part)
        if nxt is None:
            return pos
        if key and isinstance(node, MapNode) and isinstance(part, str):
            pos = node.keys.get(part, nxt.pos)
        else:
            pos = nxt.pos
        node = nxt
    return pos if key else node.pos


def position_in(node: Scalar, text: str, offset: int = 0) -> Position:
    """Where `text` starts inside a scalar: exact on a one-line scalar, else the scalar's start.

    `offset` is where it starts in the scalar's value; the source may be further right (quotes,
    escapes), so the search starts there.
    """
    if node.raw is None:
        return node.pos
    index = node.raw.find(text, offset)
    if index < 0:
        index = node.raw.find(text)
    if index < 0:
        return node.pos
    return Position(node.pos.file, node.pos.line, node.pos.column + index)


def format_path(path: Sequence[PathPart]) -> str:
    """The path as people read it: `listeners.https.rules[0].url`.

    Invisible and direction-changing characters in a key are shown escaped (`\\u202e`).
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = escape_text(part)
            text += f".{shown}" if text else shown
    return text


def flatten_positions(node: Node, prefix: str = "", depth: int = 8) -> dict[str, Position]:
    """Positions of every value below `node`, keyed by dotted paths (`subject.common_name`).

    Sequence items use their index as a path part (`dns_names.0`).
    """
    out: dict[str, Position] = {}
    if depth <= 0:
        return out
    if isinstance(node, MapNode):
        children = list(node.values.items())
    elif isinstance(node, SeqNode):
        children = [(str(i), item) for i, item in enumerate(node.items)]
    else:
        return out
    for name, value in children:
        dotted = f"{prefix}.{name}" if prefix else name
        out[dotted] = value.pos
        out.update(flatten_positions(value, dotted, depth - 1))
    return out
