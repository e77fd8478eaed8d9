"""The state committed to the repository (state/gitops.py): the mode's switch, the refusal of
keys in clear text, and a state file whose git diffs show exactly what changed."""

from __future__ import annotations

import difflib

import pytest

from mtlsform.errors import InputError, StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state import ResourceState, State
from mtlsform.state.gitops import (
    holds_keys,
    in_repository,
    lineage_conflict,
    refuse_clear_keys,
    serial_conflict,
)
from mtlsform.state.statefile import StateEncoder
from tests.state.samples import sample_state


def test_the_mode_is_a_yes_or_no():
    assert in_repository({}) is False
    assert in_repository({"MTLSFORM_STATE_IN_REPO": "true"}) is True
    assert in_repository({"MTLSFORM_STATE_IN_REPO": " 1 "}) is True
    assert in_repository({"MTLSFORM_STATE_IN_REPO": "off"}) is False
    with pytest.raises(InputError, match="expects true or false, not 'maybe'"):
        in_repository({"MTLSFORM_STATE_IN_REPO": "maybe"})


def test_keys_in_clear_are_refused_only_in_clear():
    keyless = State.empty("example").with_resource(
        ResourceState("load_balancer.web", {"id": "lb-1"}))
    assert not holds_keys(keyless) and holds_keys(sample_state())
    assert holds_keys(keyless.with_plan_key(Sensitive("00" * 32)))
    refuse_clear_keys("s.json", keyless, adds_keys=False, encrypted=False)  # nothing secret
    refuse_clear_keys("s.json", sample_state(), adds_keys=True, encrypted=True)  # sealed
    with pytest.raises(StateError, match="this run holds private keys in clear text"):
        refuse_clear_keys("s.json", sample_state(), adds_keys=False, encrypted=False)
    with pytest.raises(StateError, match="would record private keys in clear text"):
        refuse_clear_keys("s.json", keyless, adds_keys=True, encrypted=False)


def test_the_git_situations_are_told_apart():
    assert "another apply was committed first" in serial_conflict(4, 6)
    assert "old branch" in serial_conflict(6, 4)
    assert "replaced, not updated" in lineage_conflict("a", "b")


def test_one_changed_attribute_is_one_changed_line_in_git():
    before = sample_state()
    rule = before.get('rule.https["www.example.com/"]')
    assert rule is not None
    after = before.with_resource(ResourceState(rule.address, {**rule.attributes, "weight": 2.5},
                                               rule.dependencies))
    old = StateEncoder(source="s.json").encode(before, serial=7).decode()
    new = StateEncoder(source="s.json").encode(after, serial=8).decode()
    assert old == StateEncoder(source="s.json").encode(before, serial=7).decode()  # same bytes
    assert old.endswith("}\n") and new.endswith("}\n")
    changed = [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                     lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert sorted(changed) == sorted(['-  "serial": 7,', '+  "serial": 8,',
                                      '-        "weight": 1.5', '+        "weight": 2.5'])
