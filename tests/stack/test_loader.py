"""Loading YAML with positions: duplicate keys, aliases, limits, encodings, odd documents."""

from __future__ import annotations

from pathlib import Path

import yaml

from mtlsform.stack import compose as compose_module
from mtlsform.stack.compose import MAX_ALIAS_VALUES, compose
from mtlsform.stack.source import MAX_BYTES
from mtlsform.stack.tree import MapNode, Scalar, SeqNode, get, position_of, to_plain
from tests.stack.conftest import MINIMAL


def test_every_value_keeps_file_line_and_column() -> None:
    composed = compose("a:\n  b: [x, 'y']\n  c: {d: 1}\n", "f.yaml")
    root = composed.root
    assert root is not None and composed.diagnostics == []
    b = get(root, "a", "b")
    assert isinstance(b, SeqNode)
    assert (b.pos.line, b.pos.column) == (2, 6)
    y = get(root, "a", "b", 1)
    assert isinstance(y, Scalar) and y.value == "y"
    assert (y.pos.file, y.pos.line, y.pos.column) == ("f.yaml", 2, 10)
    assert position_of(root, ("a", "c", "d")).column == 10
    assert position_of(root, ("a", "c"), key=True).column == 3
    # A path that does not resolve falls back to the deepest node reached.
    assert position_of(root, ("a", "nope", "x")) == get(root, "a").pos


def test_positions_are_the_same_with_crlf_line_endings() -> None:
    composed = compose("a: 1\r\nb:\r\n  c: 2\r\n", "f.yaml")
    assert composed.root is not None
    assert position_of(composed.root, ("b", "c")).line == 3


def test_pure_python_parser_gives_the_same_tree(monkeypatch) -> None:
    fast = compose(MINIMAL, "f.yaml")
    monkeypatch.setattr(compose_module, "_FAST_LOADER", yaml.SafeLoader)
    pure = compose(MINIMAL, "f.yaml")
    assert to_plain(fast.root) == to_plain(pure.root)
    assert position_of(fast.root, ("listeners", "https", "rules", 0, "domain")) == \
        position_of(pure.root, ("listeners", "https", "rules", 0, "domain"))


def test_duplicate_key_is_an_error_at_the_second_and_the_first_value_is_kept() -> None:
    composed = compose("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [d.format() for d in composed.diagnostics] == [
        "f.yaml:3:1: error: a: duplicate key 'a' (first written at line 1) "
        "(hint: a key may appear once in a mapping; remove or rename one of them)"]
    assert to_plain(composed.root) == {"a": 1, "b": 2}


def test_aliases_and_merge_keys_work_as_in_safe_load() -> None:
    text = ("base: &hc {path: /healthz, interval: 5}\n"
            "one: *hc\n"
            "two:\n  <<: *hc\n  interval: 10\n"
            "three:\n  interval: 7\n  <<: [*hc, {timeout: 2}]\n")
    composed = compose(text, "f.yaml")
    assert composed.diagnostics == []
    assert to_plain(composed.root) == yaml.safe_load(text)


def test_a_merge_key_needs_mappings() -> None:
    composed = compose("a: &x 1\nb:\n  <<: *x\n", "f.yaml")
    assert [d.message for d in composed.diagnostics] == [
        "the merge key << needs a mapping or a list of mappings"]


def test_billion_laughs_is_refused_after_few_values() -> None:
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    composed = compose("\n".join(levels) + "\n", "f.yaml")
    assert composed.root is None
    [diagnostic] = composed.diagnostics
    assert diagnostic.message.startswith(f"aliases expand to more than {MAX_ALIAS_VALUES} values")
    # Refused at the first alias that crosses the limit (level 4), long before level 9.
    assert diagnostic.position is not None and diagnostic.position.line == 5


def test_moderate_alias_use_is_fine() -> None:
    lines = ["hc: &hc {path: /healthz, interval: 5, timeout: 2}", "rules:"]
    lines += [f"  - {{domain: d{i}.example.com, health_check: *hc}}" for i in range(2000)]
    composed = compose("\n".join(lines) + "\n", "f.yaml")
    assert composed.diagnostics == [] and composed.root is not None


def test_recursive_alias_is_refused() -> None:
    composed = compose("a: &x\n  b: *x\n", "f.yaml")
    assert composed.root is None
    assert "refers to a value that contains it" in composed.diagnostics[0].message


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    composed = compose("a: " + "[" * 5000 + "]" * 5000 + "\n", "f.yaml")
    assert composed.root is None
    assert composed.diagnostics[0].message == "values are nested more than 32 levels deep"


def test_tabs_in_indentation_get_their_own_message() -> None:
    composed = compose("a:\n  b: 1\n\tc: 2\n", "f.yaml")
    [diagnostic] = composed.diagnostics
    assert diagnostic.message == "a tab is used for indentation; YAML indents with spaces only"
    assert (diagnostic.position.line, diagnostic.position.column) == (3, 1)


def test_tabs_elsewhere_are_fine() -> None:
    composed = compose("a:\t1\nb: \"x\ty\"\n", "f.yaml")
    assert composed.diagnostics == [] and to_plain(composed.root) == {"a": 1, "b": "x\ty"}


def test_syntax_errors_are_worded_the_same_with_either_parser(monkeypatch) -> None:
    text = "a:\n  b: c: d\n"
    fast = compose(text, "f.yaml").diagnostics
    monkeypatch.setattr(compose_module, "_FAST_LOADER", yaml.SafeLoader)
    assert compose(text, "f.yaml").diagnostics == fast
    assert fast[0].message == "YAML syntax error: mapping values are not allowed here"


def test_odd_scalars_become_errors_not_crashes() -> None:
    composed = compose("a: !!binary aGk=\nb: !local x\nc: 1" + "0" * 5000 + "\n", "f.yaml")
    assert composed.root is not None
    assert len(composed.diagnostics) == 3
    assert composed.poisoned == [("a",), ("b",), ("c",)]


def test_dates_and_yaml_11_booleans_read_as_safe_load_does_except_dates() -> None:
    composed = compose("a: 2024-01-01\nb: yes\nc: ~\nd: 0x10\n", "f.yaml")
    assert to_plain(composed.root) == {"a": "2024-01-01", "b": True, "c": None, "d": 16}


def test_a_complex_key_is_an_error() -> None:
    composed = compose("? [a, b]\n: 1\nc: 2\n", "f.yaml")
    assert composed.diagnostics[0].message == \
        "a key must be a plain value, not a mapping or a list"
    assert isinstance(composed.root, MapNode) and list(composed.root.values) == ["c"]


def test_empty_file(load_text) -> None:
    stack, lines = load_text("")
    assert stack is None
    assert lines == ["s.yaml:1:1: error: the stack file is empty "
                     "(hint: a stack starts with `version: 1` and `stack: NAME`)"]


def test_whitespace_only_file(load_text) -> None:
    assert load_text("\n  \n\n")[1][0].startswith("s.yaml:1:1: error: the stack file is empty")


def test_top_level_list_and_scalar(load_text) -> None:
    assert "not a list" in load_text("- a\n")[1][0]
    assert "not a single value" in load_text("just text\n")[1][0]


def test_utf8_bom_is_accepted(load_text) -> None:
    stack, lines = load_text(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert stack is not None and lines == []


def test_utf16_is_refused_by_name(load_text) -> None:
    _, lines = load_text(MINIMAL.encode("utf-16"))
    assert lines == ["s.yaml:1:1: error: the file is encoded as UTF-16; stack files must be "
                     "UTF-8 (hint: save the file as UTF-8)"]


def test_latin1_is_refused_at_the_bad_byte(load_text) -> None:
    _, lines = load_text("version: 1\nstack: d\u00e9mo\n".encode("latin-1"))
    assert lines == ["s.yaml:2:9: error: the file is not valid UTF-8: byte 0xe9 cannot be "
                     "decoded (hint: save the file as UTF-8)"]


def test_control_characters_are_a_syntax_error(load_text) -> None:
    _, lines = load_text("version: 1\nstack: a\x00b\n")
    assert lines == ["s.yaml:2:9: error: YAML syntax error: unacceptable character #x0000: "
                     "special characters are not allowed"]


def test_too_large_file_is_refused_before_parsing(load_text) -> None:
    _, lines = load_text(b"#" * (MAX_BYTES + 1))
    assert len(lines) == 1 and "larger than 4 MiB" in lines[0]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    from mtlsform.stack import load_stack

    stack, diagnostics = load_stack(tmp_path / "nope.yaml")
    assert stack is None and diagnostics[0].message.endswith("nope.yaml: no such file")
    stack, diagnostics = load_stack(tmp_path)
    assert stack is None and "it is a directory" in diagnostics[0].message


def test_second_document_is_refused(load_text) -> None:
    _, lines = load_text(MINIMAL + "---\nversion: 1\n")
    assert len(lines) == 1 and "a second one starts here" in lines[0]


def test_all_problems_are_reported_at_once_sorted_by_position(load_text) -> None:
    text = MINIMAL.replace("port: 443", "port: 70000").replace("rs-2]", "rs-3]") \
        .replace("version: 1", "version: 1\nextra: 1")
    _, lines = load_text(text)
    assert [line.split(": error")[0] for line in lines] == [
        "s.yaml:2:1", "s.yaml:15:11", "s.yaml:19:26"]
