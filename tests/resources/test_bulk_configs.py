"""A type's bulk `configs` (one pass over the stack, used when a stack is compiled) gives
exactly what `config` gives for each of its instances, in `instances` order."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.graph import compiled
from mtlsform.stack import load_stack

STACKS = sorted(Path(__file__).parents[2].joinpath("stacks").glob("*.yaml"))


@pytest.mark.parametrize("path", STACKS, ids=[p.stem for p in STACKS])
def test_bulk_configs_equal_one_by_one(path: Path) -> None:
    stack, diagnostics = load_stack(path, environ={"MTLSFORM_P12_PASSWORD": "unused"})
    assert stack is not None, diagnostics
    seen = 0
    for rtype in RESOURCE_TYPES.values():
        one_by_one = {a: rtype.config(stack, a) for a in rtype.instances(stack)}
        bulk = rtype.configs(stack)
        assert list(bulk) == list(one_by_one), rtype.name
        assert bulk == one_by_one, rtype.name
        seen += len(bulk)
    assert seen == len(compiled(stack).configs) > 0
