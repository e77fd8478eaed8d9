"""Moves (plan/moves.py) as plain data: what nests under what, where a move takes each
address, the prior state with the moves made, and the positioned checks of `moved:`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mtlsform.addresses import Address
from mtlsform.cli.stackload import load_with_vars
from mtlsform.plan.moves import Move, apply_moves, move_problem, moved_address, nested_under
from mtlsform.state.model import PendingOperation, ResourceState, State

REPO = Path(__file__).resolve().parents[2]
A = Address.parse
LISTENER, WEB = A("listener.https"), A("listener.web")
RULE = A('rule.https["www.example.com/"]')
TARGET = A('target.https["www.example.com/"].rs-1')


def _state(*addresses: str, pending: str | None = None) -> State:
    state = State.empty("example").with_resources(
        ResourceState(A(a), {"id": a}, (A("load_balancer.web"),) if a != "load_balancer.web"
                      else ()) for a in addresses)
    if pending is not None:
        state = state.with_pending(PendingOperation.begin(pending, "create"))
    return state


def test_what_nests_under_an_address_follows_the_types_and_the_address_parts():
    assert nested_under(RULE, LISTENER) and nested_under(TARGET, LISTENER)
    assert nested_under(TARGET, RULE)
    assert not nested_under(LISTENER, A("load_balancer.https"))  # same name, not nested
    assert not nested_under(A('rule.ca["x/"]'), A("certificate.ca"))  # not its cascade parent
    assert not nested_under(A('rule.http["www.example.com/"]'), LISTENER)
    assert moved_address(TARGET, Move(LISTENER, WEB)) == \
        A('target.web["www.example.com/"].rs-1')
    assert moved_address(TARGET, Move(RULE, A('rule.https["api.example.com/"]'))) == \
        A('target.https["api.example.com/"].rs-1')
    assert moved_address(A("listener.other"), Move(LISTENER, WEB)) is None


def test_moves_are_made_on_the_prior_state_with_dependencies_and_intents():
    state = _state("load_balancer.web", "listener.https", str(RULE), str(TARGET),
                   pending=str(TARGET))
    state = state.with_resource(ResourceState(RULE, {"id": "r"}, (LISTENER,)))
    done = apply_moves(state, [Move(LISTENER, WEB)])
    addresses = [str(r.address) for r in done.state.resources]
    assert addresses == ["load_balancer.web", "listener.web", 'rule.web["www.example.com/"]',
                         'target.web["www.example.com/"].rs-1']
    assert done.state.get('rule.web["www.example.com/"]').dependencies == (WEB,)
    assert [str(p.address) for p in done.state.pending_operations] == [
        'target.web["www.example.com/"].rs-1']
    assert done.moved_from[WEB] == LISTENER and len(done.moved_from) == 3
    assert apply_moves(done.state, [Move(LISTENER, WEB)]).moved_from == {}  # made already


def test_a_move_onto_a_recorded_address_is_skipped_with_a_warning():
    state = _state("load_balancer.web", "listener.https", "listener.web")
    done = apply_moves(state, [Move(LISTENER, WEB)])
    assert done.state == state and not done.moved_from
    assert [w.message for w in done.warnings] == [
        "moved: listener.https was not moved to listener.web: the state records both"]
    assert "already in the state" in (move_problem(state, Move(LISTENER, WEB)) or "")
    busy = _state("load_balancer.web", "listener.https", pending="listener.https")
    assert "in flight" in (move_problem(busy, Move(LISTENER, WEB)) or "")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "example.yaml"
    shutil.copy(REPO / "stacks/example.yaml", path)
    return path


@pytest.mark.parametrize(("moved", "expected"), [
    ("- {from: listener.https, to: listener.https}",
     ["8:12: error: moved[0]: listener.https is moved to itself"]),
    ("- {from: 'listener[', to: listener.https}",
     ["8:12: error: moved[0].from: 'listener[' is not a resource address (expected e.g. "
      'listener.https or rule.https["www.example.com/"]) (hint: e.g. from: listener.https, '
      "to: listener.web)"]),
    ("- {from: listener.old, to: load_balancer.web}",
     ["8:30: error: moved[0].to: listener.old cannot move to load_balancer.web: a move keeps "
      "the type and the shape of the address"]),
    ("- {from: listener.old, to: listener.gone}",
     ["8:30: error: moved[0].to: listener.gone is not declared in the stack (hint: `to` names "
      "the address the resource has now)"]),
    ("- {from: certificate.ca, to: certificate.server}",
     ["8:12: error: moved[0].from: certificate.ca is still declared in the stack (hint: "
      "`from` names the address the resource had before)"]),
    ("- {from: listener.a, to: listener.b}\n- {from: listener.b, to: listener.https}",
     ["8:28: error: moved[0].to: listener.b is not declared in the stack (hint: `to` names "
      "the address the resource has now)",
      "8:28: error: moved[0].to: moved[0] and moved[1] make a chain: listener.a -> listener.b "
      "-> listener.https (hint: write one entry from listener.a to where it is now)"]),
    ("- {from: listener.a, to: listener.https}\n- {from: listener.a, to: listener.https}",
     ["9:12: error: moved[1].from: listener.a is the `from` of moved[0] already",
      "9:28: error: moved[1].to: listener.https is the `to` of moved[0] already"]),
])
def test_moved_entries_get_positioned_diagnostics(example: Path, moved: str,
                                                  expected: list[str]) -> None:
    text = example.read_text().replace("version: 1\n", "version: 1\nmoved:\n" + "".join(
        f"  {line}\n" for line in moved.splitlines()), 1)
    example.write_text(text)
    stack, diagnostics = load_with_vars(example, [])
    assert stack is None
    assert [d.format().removeprefix(f"{example}:") for d in diagnostics] == expected


def test_a_cycle_of_moves_is_named(example: Path) -> None:
    example.write_text(example.read_text() + "\nmoved:\n  - {from: listener.a, to: listener.b}\n"
                       "  - {from: listener.b, to: listener.a}\n")
    _, diagnostics = load_with_vars(example, [])
    assert any("make a cycle: listener.a -> listener.b -> listener.a" in d.message
               for d in diagnostics), [d.format() for d in diagnostics]
