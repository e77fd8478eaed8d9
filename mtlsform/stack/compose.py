"""Composing YAML text into the positioned tree, refusing what PyYAML would silently let through.

Built from the parser's event stream (not `yaml.compose`, whose recursion a deeply nested file can
exhaust), so that every node keeps file:line:column, duplicate keys are errors, alias expansion is
bounded (a "billion laughs" file is refused after a few events), nesting depth is bounded, and
merge keys (`<<: *defaults`) work as in `yaml.safe_load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from mtlsform.diagnostics import Diagnostic, Position, error
from mtlsform.stack.syntax import syntax_error
from mtlsform.stack.tree import MapNode, Node, Path, Scalar, SeqNode, format_path
from mtlsform.stack.values import quote

MAX_DEPTH = 32
# Re-reading a large file with the pure-Python parser only to word a message would be slow.
_REPARSE_LIMIT = 1024 * 1024
MAX_ALIAS_VALUES = 100_000
# Integers beyond 64 bits are never meaningful in a stack (and huge ones cannot even be printed).
MAX_INT_BITS = 64

_FAST_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
_TAG = "tag:yaml.org,2002:"
_MAP_TAGS = (None, "!", _TAG + "map")
_SEQ_TAGS = (None, "!", _TAG + "seq")
_resolver = Resolver()
_constructor = SafeConstructor()


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Fatal(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class _Frame:
    node: MapNode | SeqNode
    path: Path
    anchor: str | None
    size: int = 1
    key: str | None = None  # a mapping key waiting for its value
    key_pos: Position | None = None
    expecting_value: bool = False
    drop_value: bool = False  # the value of a bad or duplicate key: read it, then drop it
    merge_value: bool = False  # the value of a `<<` merge key
    merges: list[MapNode] = field(default_factory=list)


@dataclass
class Composed:
    """A composed document: its root mapping, problems found, and paths whose values are bad."""

    root: MapNode | None
    diagnostics: list[Diagnostic]
    poisoned: list[Path]


def compose(text: str, file: str) -> Composed:
    """The positioned tree of a stack file's text (the top level must be a mapping)."""
    composer = _Composer(text, file)
    try:
        root = composer.run(_FAST_LOADER)
    except yaml.YAMLError as exc:
        return Composed(None, [_failure(text, file, exc)], [])
    except _Fatal as fatal:
        return Composed(None, [fatal.diagnostic], [])
    start = Position(file, 1, 1)
    if root is None or (isinstance(root, Scalar) and root.value is None):
        return Composed(None, [error("the stack file has no content (only comments?)",
                                     position=start,
                                     hint="a stack starts with `version: 1` and `stack: NAME`")],
                        [])
    if not isinstance(root, MapNode):
        found = "a list" if isinstance(root, SeqNode) else "a single value"
        return Composed(None, [error(
            f"the top level of a stack must be a mapping of sections, not {found}",
            position=root.pos,
            hint="a stack starts with `version: 1` and `stack: NAME`, then sections such as "
                 "certificates: and listeners:",
        )], [])
    return Composed(root, composer.diagnostics, composer.poisoned)


def _failure(text: str, file: str, exc: yaml.YAMLError) -> Diagnostic:
    """The one diagnostic for a file the fast parser (libyaml) refused.

    The file is composed again with PyYAML's own parser, so that the message (and our own
    limits, which libyaml may hit first in its own words) are the same on every machine.
    """
    if _FAST_LOADER is yaml.SafeLoader or len(text) > _REPARSE_LIMIT:
        return syntax_error(text, file, exc)
    try:
        _Composer(text, file).run(yaml.SafeLoader)
    except yaml.YAMLError as pure_exc:
        return syntax_error(text, file, pure_exc)
    except _Fatal as fatal:
        return fatal.diagnostic
    return syntax_error(text, file, exc)  # only libyaml refuses it: keep its words


class _Composer:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.poisoned: list[Path] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.open_anchors: set[str] = set()
        self.alias_values = 0
        self.documents = 0
        self.root: Node | None = None

    def run(self, loader_class: type) -> Node | None:
        loader = loader_class(self.text)
        try:
            while loader.check_event():
                self.handle(loader.get_event())
        finally:
            loader.dispose()
        return self.root

    def pos(self, mark: yaml.Mark) -> Position:
        return Position(self.file, mark.line + 1, mark.column + 1)

    def next_path(self) -> Path:
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.node, SeqNode):
            return (*frame.path, len(frame.node.items))
        return (*frame.path, frame.key if frame.key is not None else "?")

    def handle(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _Fatal(error(
                    "a stack file holds one YAML document, but a second one starts here",
                    position=self.pos(event.start_mark),
                    hint="remove the extra '---' line, or put each stack in its own file"))
        elif isinstance(event, yaml.ScalarEvent):
            self.add_scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            self.add_alias(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.start_collection(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self.end_collection()

    def add_scalar(self, event: yaml.ScalarEvent) -> None:
        pos = self.pos(event.start_mark)
        raw = None
        if "${" in event.value and event.start_mark.line == event.end_mark.line:
            raw = self.text[event.start_mark.index:event.end_mark.index]
        value = self.construct(event, pos)
        scalar = Scalar(value, pos, raw=raw)
        if event.anchor:
            self.anchors[event.anchor] = (scalar, 1)
        is_merge = event.tag is None and bool(event.implicit[0]) and event.value == "<<"
        self.add(scalar, 1, key_text=event.value, merge_key=is_merge)

    def construct(self, event: yaml.ScalarEvent, pos: Position) -> object:
        tag = event.tag
        text = event.value
        if tag in (None, "!"):
            implicit = (tag is None and bool(event.implicit[0]), False)
            tag = _resolver.resolve(ScalarNode, text, implicit) if implicit[0] else _TAG + "str"
        name = tag.removeprefix(_TAG) if tag.startswith(_TAG) else None
        try:
            if name == "null":
                return None
            if name == "bool":
                return _constructor.construct_yaml_bool(ScalarNode(tag, text))
            if name == "int":
                value = _constructor.construct_yaml_int(ScalarNode(tag, text))
                if value.bit_length() > MAX_INT_BITS:
                    self.bad_scalar(pos, "this number is too large for any setting of a stack")
                    return None
                return value
            if name == "float":
                return _constructor.construct_yaml_float(ScalarNode(tag, text))
        except (ValueError, KeyError):
            if name == "int" and text.lstrip("+-").replace("_", "").isdigit():
                self.bad_scalar(pos, "this number is too large for any setting of a stack")
            else:
                self.bad_scalar(pos, f"{quote(text, 40)} is not a valid YAML {name}")
            return None
        if name in ("str", "timestamp", "value", "merge"):
            return text  # a date-like value stays the text that was written
        self.bad_scalar(pos, f"the YAML tag {_short(tag)} is not supported in a stack",
                        hint="remove the tag; stack values are text, numbers and booleans")
        return None

    def bad_scalar(self, pos: Position, message: str, hint: str | None = None) -> None:
        """Reports a value that cannot be read as written, and poisons its path."""
        path = self.next_path()
        self.diagnostics.append(error(message, path=format_path(path), position=pos, hint=hint))
        self.poisoned.append(path)

    def add_alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor
        pos = self.pos(event.start_mark)
        if name in self.open_anchors:
            raise _Fatal(error(f"the alias *{name} refers to a value that contains it",
                               position=pos, hint="a recursive alias has no end; copy the "
                                                  "values instead"))
        if name not in self.anchors:
            raise _Fatal(error(f"the alias *{name} is not defined",
                               position=pos, hint=f"define it with &{name} before using it"))
        node, size = self.anchors[name]
        self.alias_values += size
        if self.alias_values > MAX_ALIAS_VALUES:
            raise _Fatal(error(
                f"aliases expand to more than {MAX_ALIAS_VALUES} values; refusing to load this "
                "file", position=pos,
                hint="this looks like a 'billion laughs' document; write the values out"))
        key_text = node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None
        self.add(node, size, key_text=key_text)

    def start_collection(self, event: yaml.CollectionStartEvent) -> None:
        pos = self.pos(event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            raise _Fatal(error(f"values are nested more than {MAX_DEPTH} levels deep",
                               position=pos, hint="a stack needs only a few levels"))
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            self.bad_scalar(pos, f"the YAML tag {_short(event.tag)} is not supported in a stack")
        node: MapNode | SeqNode = MapNode(pos) if is_map else SeqNode(pos)
        self.stack.append(_Frame(node, self.next_path(), event.anchor))
        if event.anchor:
            self.open_anchors.add(event.anchor)

    def end_collection(self) -> None:
        frame = self.stack.pop()
        if isinstance(frame.node, MapNode):
            for merged in frame.merges:
                for key, value in merged.values.items():
                    if key not in frame.node.values:  # explicit keys and earlier merges win
                        frame.node.values[key] = value
                        frame.node.keys[key] = merged.keys[key]
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.node, frame.size)
        self.add(frame.node, frame.size, key_text=None)

    def add(self, node: Node, size: int, *, key_text: str | None,
            merge_key: bool = False) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        frame.size += size
        if isinstance(frame.node, SeqNode):
            frame.node.items.append(node)
        elif frame.expecting_value:
            self.add_value(frame, node)
        else:
            self.add_key(frame, node, key_text, merge_key)

    def add_key(self, frame: _Frame, node: Node, text: str | None, merge_key: bool) -> None:
        assert isinstance(frame.node, MapNode)
        frame.expecting_value = True
        frame.drop_value = frame.merge_value = False
        frame.key = None
        if merge_key:
            frame.merge_value = True
            return
        if not isinstance(node, Scalar) or text is None:
            self.diagnostics.append(error(
                "a key must be a plain value, not a mapping or a list",
                path=format_path(frame.path), position=node.pos))
            frame.drop_value = True
            return
        if text in frame.node.keys:
            first = frame.node.keys[text]
            self.diagnostics.append(error(
                f"duplicate key {quote(text)} (first written at line {first.line})",
                path=format_path((*frame.path, text)), position=node.pos,
                hint="a key may appear once in a mapping; remove or rename one of them"))
            frame.drop_value = True
            return
        frame.key = text
        frame.key_pos = node.pos

    def add_value(self, frame: _Frame, node: Node) -> None:
        assert isinstance(frame.node, MapNode)
        frame.expecting_value = False
        if frame.merge_value:
            sources = node.items if isinstance(node, SeqNode) else [node]
            if all(isinstance(source, MapNode) for source in sources):
                frame.merges.extend(s for s in sources if isinstance(s, MapNode))
            else:
                self.diagnostics.append(error(
                    "the merge key << needs a mapping or a list of mappings",
                    path=format_path(frame.path), position=node.pos,
                    hint="write `<<: *name` where &name marks a mapping"))
        elif not frame.drop_value and frame.key is not None and frame.key_pos is not None:
            frame.node.values[frame.key] = node
            frame.node.keys[frame.key] = frame.key_pos


def plain_value(text: str) -> object:
    """What `text` means as an unquoted YAML scalar (`443` an integer, `true` a boolean).

    Values that would be refused in a file (huge numbers, odd tags) stay text.
    """
    tag = _resolver.resolve(ScalarNode, text, (True, False))
    name = tag.removeprefix(_TAG)
    try:
        if name == "null":
            return None
        if name == "bool":
            return _constructor.construct_yaml_bool(ScalarNode(tag, text))
        if name == "int":
            value = _constructor.construct_yaml_int(ScalarNode(tag, text))
            return value if value.bit_length() <= MAX_INT_BITS else text
        if name == "float":
            return _constructor.construct_yaml_float(ScalarNode(tag, text))
    except (ValueError, KeyError):
        return text
    return text
