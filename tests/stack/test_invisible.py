"""Invisible and direction-changing characters: refused everywhere, escaped in every message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtlsform.stack import load_stack

CLEAN = """\
version: 1
stack: clean
variables:
  cn: Zürich 東京 client
certificates:
  ca: {type: ca, subject: {common_name: "Racine Générale"}}
  client: {type: client, issuer: ca, subject: {common_name: "${var.cn}"}}
load_balancers:
  web: {name: web-clb, tags: {owner: "équipe ß"}}
"""

REFUSED = ["\u202e", "\u2066", "\u200b", "\ufeff", "\u00ad", "\u061c", "\t", "\n", "\x07",
           "\u2028", "\u2029", "\U000e0001"]


def _load(tmp_path: Path, text: str, cli_vars: dict[str, str] | None = None,
          environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "stack.yaml"
    path.write_text(text, encoding="utf-8")
    stack, diagnostics = load_stack(path, cli_vars, environ)
    assert (stack is None) == bool(diagnostics)
    return [json.dumps(d.to_json(), ensure_ascii=False) for d in diagnostics]


def test_a_clean_stack_with_printable_unicode_is_unaffected(tmp_path: Path) -> None:
    assert _load(tmp_path, CLEAN) == []


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_each_refused_character_gives_one_escaped_diagnostic(tmp_path: Path, char: str) -> None:
    code = ord(char)
    escaped = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"  # as YAML reads it
    text = CLEAN.replace("équipe ß", f"team{escaped}a")
    found = _load(tmp_path, text)
    assert len(found) == 1
    assert char not in found[0]
    assert escaped.replace("\\", "\\\\") in found[0]  # JSON doubles the backslash
    assert '"line": 9' in found[0]


def test_an_environment_value_is_refused_at_the_declaration(tmp_path: Path) -> None:
    found = _load(tmp_path, CLEAN, environ={"MTLSFORM_VAR_cn": "a\u202eb"})
    assert len(found) == 1
    assert "\u202e" not in found[0]
    assert "MTLSFORM_VAR_cn" in found[0] and "RIGHT-TO-LEFT OVERRIDE" in found[0]
    assert '"line": 4' in found[0]


def test_a_var_name_holding_one_is_reported_escaped(tmp_path: Path) -> None:
    found = _load(tmp_path, CLEAN, cli_vars={"c\u200bn": "x"})
    assert len(found) == 1
    assert "\u200b" not in found[0] and "c\\\\u200bn" in found[0]


def test_a_duplicate_key_holding_one_is_shown_escaped_in_path_and_message(
        tmp_path: Path) -> None:
    found = _load(tmp_path, CLEAN + '  "w\\u202eb": {name: a}\n  "w\\u202eb": {name: b}\n')
    assert found and all("\u202e" not in line for line in found)
    assert any("duplicate key" in line and "load_balancers.w\\\\u202eb" in line
               for line in found)
