"""The resource graph of a stack: every instance of every registered type, with an edge to each
resource its configuration refers to (the graph's only edges).

Compiling it evaluates every resource's configuration, which the planner needs again: the last
stack compiled keeps its graph and configurations (a stack is immutable), so that loading,
checking and planning one stack compile it once.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtlsform.addresses import Address
from mtlsform.dag import Dag
from mtlsform.references import Ref, references
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.stack.model import Stack


@dataclass(frozen=True)
class CompiledStack:
    graph: Dag[Address]
    configs: Mapping[Address, Mapping[str, Any]]  # each resource's configuration, Refs in it
    refs: Mapping[Address, tuple[Ref, ...]]  # the Refs of each configuration, in order
    instances: Mapping[str, tuple[Address, ...]]  # each type's instances, in their order


_last: tuple[weakref.ref[Stack], CompiledStack] | None = None
_lock = threading.Lock()


def compiled(stack: Stack) -> CompiledStack:
    """The graph and the configurations of a (valid) stack."""
    global _last
    with _lock:
        if _last is not None and _last[0]() is stack:
            return _last[1]
    configs: dict[Address, Mapping[str, Any]] = {}
    refs: dict[Address, tuple[Ref, ...]] = {}
    edges: dict[Address, set[Address]] = {}
    instances: dict[str, tuple[Address, ...]] = {}
    for rtype in RESOURCE_TYPES.values():
        built = rtype.configs(stack)
        instances[rtype.name] = tuple(built)
        for address, config in built.items():
            configs[address] = config
            refs[address] = found = tuple(references(config))
            edges[address] = {ref.address for ref in found}
    result = CompiledStack(Dag(list(configs), edges), configs, refs, instances)
    with _lock:
        _last = (weakref.ref(stack), result)
    return result


def resource_graph(stack: Stack) -> Dag[Address]:
    """The graph of a (valid) stack; `.reduced()` of it is the graph people are shown."""
    return compiled(stack).graph
