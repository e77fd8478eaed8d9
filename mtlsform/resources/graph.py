"""The resource graph of a stack: every instance of every registered type, with an edge to each
resource its configuration refers to (the graph's only edges)."""

from __future__ import annotations

from mtlsform.addresses import Address
from mtlsform.dag import Dag
from mtlsform.references import references
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.stack.model import Stack


def resource_graph(stack: Stack) -> Dag[Address]:
    """The graph of a (valid) stack; `.reduced()` of it is the graph people are shown."""
    nodes: list[Address] = []
    edges: dict[Address, set[Address]] = {}
    for rtype in RESOURCE_TYPES.values():
        for address in rtype.instances(stack):
            nodes.append(address)
            edges[address] = {ref.address for ref in references(rtype.config(stack, address))}
    return Dag(nodes, edges)
