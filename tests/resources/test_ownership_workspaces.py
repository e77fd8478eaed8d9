"""Ownership tags carry the workspace (outside the default one), and an owner is a stack and a
workspace: another workspace's object is someone else's (resources/ownership.py)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from mtlsform.addresses import Address
from mtlsform.resources.ownership import other_owner, owner_tags, tagged_workspace
from mtlsform.stack import load_stack

REPO = Path(__file__).resolve().parents[2]
LB = Address("load_balancer", "web")


def _stack(workspace: str = "default"):
    stack, diagnostics = load_stack(REPO / "stacks/example.yaml", environ=os.environ)
    assert stack is not None, diagnostics
    return replace(stack, workspace=workspace)


def test_the_default_workspace_is_tagged_as_before():
    assert owner_tags(_stack(), LB) == {"mtlsform:stack": "example",
                                        "mtlsform:address": "load_balancer.web"}
    assert tagged_workspace(owner_tags(_stack(), LB)) == "default"


def test_another_workspace_adds_its_tag():
    tags = owner_tags(_stack("prod"), LB)
    assert tags["mtlsform:workspace"] == "prod"
    assert tagged_workspace(tags) == "prod"


def test_owners_are_a_stack_and_a_workspace():
    default, prod = _stack(), _stack("prod")
    made_by_prod = owner_tags(prod, LB)
    made_before = owner_tags(default, LB)
    assert other_owner(made_by_prod, prod) is None
    assert other_owner(made_before, default) is None
    assert other_owner(made_by_prod, default) == "workspace 'prod' of stack 'example'"
    assert other_owner(made_before, prod) == "workspace 'default' of stack 'example'"
    assert other_owner({"mtlsform:stack": "shop"}, default) == "stack 'shop'"
    assert other_owner({}, prod) is None  # made by hand: nobody's
