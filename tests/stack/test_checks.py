"""Semantic checks that are easier to state in Python than as a fixture file."""

from __future__ import annotations

from tests.stack.conftest import MINIMAL


def test_minimal_stack_is_valid(load_text) -> None:
    stack, lines = load_text(MINIMAL)
    assert lines == [] and stack is not None


def test_reordering_rules_and_backends_changes_nothing_but_positions(load_text) -> None:
    text = MINIMAL.replace(
        "      - domain: www.example.com\n        backends: [rs-1, rs-2]\n",
        "      - {domain: www.example.com, backends: [rs-1, rs-2]}\n"
        "      - {domain: api.example.com, url: /v1, backends: [rs-2]}\n")
    swapped = MINIMAL.replace(
        "      - domain: www.example.com\n        backends: [rs-1, rs-2]\n",
        "      - {domain: api.example.com, url: /v1, backends: [rs-2]}\n"
        "      - {domain: www.example.com, backends: [rs-2, rs-1]}\n")
    first, _ = load_text(text)
    second, _ = load_text(swapped)
    keys = sorted(rule.key for rule in first.listeners["https"].rules)
    assert keys == sorted(rule.key for rule in second.listeners["https"].rules)


def test_a_schema_error_in_one_rule_does_not_hide_the_others(load_text) -> None:
    text = MINIMAL.replace(
        "      - domain: www.example.com\n        backends: [rs-1, rs-2]\n",
        "      - {domain: www.example.com, session_persistence: high, backends: [rs-1]}\n"
        "      - {domain: api.example.com, session_persistence: 5, backends: [rs-9]}\n")
    _, lines = load_text(text)
    assert [line.split(": ", 3)[2] for line in lines] == [
        "listeners.https.rules[0].session_persistence",
        "listeners.https.rules[1].session_persistence",
        "listeners.https.rules[1].backends[0]",
    ]


def test_a_schema_error_in_a_listener_still_checks_its_rules(load_text) -> None:
    _, lines = load_text(MINIMAL.replace("port: 443", "port: high").replace("rs-2]", "rs-3]"))
    assert len(lines) == 2
    assert "expected an integer" in lines[0] and "unknown backend 'rs-3'" in lines[1]


def test_warnings_do_not_stop_loading(load_text) -> None:
    stack, lines = load_text(MINIMAL.replace("rs-1, rs-2]", "rs-1]"))
    assert stack is not None
    assert lines == ["s.yaml:10:3: warning: backends.rs-2: backend 'rs-2' is not used by any "
                     "rule (hint: bind it in a rule, or remove it)"]


def test_listener_quota_warning(load_text) -> None:
    listeners = "".join(
        f"  l{i}:\n    load_balancer: web\n    protocol: HTTP\n    port: {1000 + i}\n"
        f"    rules: [{{domain: www.example.com, backends: [rs-1, rs-2]}}]\n" for i in range(51))
    text = MINIMAL.split("listeners:\n")[0] + "listeners:\n" + listeners
    stack, lines = load_text(text)
    assert stack is not None
    assert len(lines) == 1 and "more than 50 listeners" in lines[0]
