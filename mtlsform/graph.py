"""The resource graph: addresses as nodes, "depends on" edges, order, cycles, DOT and Mermaid.

`ResourceGraph` knows nothing about load balancers; the engine also builds graphs of resources
found only in the state with it. `build_graph` makes the graph of a stack.

Edges point from a resource to what it depends on (a listener -> its load balancer), so
`topological_order` lists dependencies first and `reverse_order` (for destroy) dependents first.
Every order is deterministic: ties are broken by address order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mtlsform.addresses import Address
from mtlsform.errors import MtlsformError

if TYPE_CHECKING:
    from mtlsform.stack.model import Stack


class CycleError(MtlsformError):
    """The graph has a dependency cycle, so it has no order."""

    def __init__(self, cycles: list[tuple[Address, ...]]) -> None:
        super().__init__("dependency cycle: " + "; ".join(format_cycle(c) for c in cycles))
        self.cycles = cycles


class ResourceGraph:
    """A directed graph of addresses; `edges[a]` are the addresses `a` depends on."""

    def __init__(self, nodes: Iterable[Address],
                 edges: Mapping[Address, Iterable[Address]] | None = None) -> None:
        self._nodes = tuple(sorted(set(nodes)))
        known = set(self._nodes)
        self._deps: dict[Address, tuple[Address, ...]] = {n: () for n in self._nodes}
        dependents: dict[Address, set[Address]] = {n: set() for n in self._nodes}
        for node, targets in (edges or {}).items():
            targets = set(targets)
            for addr in (node, *targets):
                if addr not in known:
                    raise ValueError(f"edge names {addr}, which is not a node of the graph")
            self._deps[node] = tuple(sorted(set(self._deps[node]) | targets))
            for target in targets:
                dependents[target].add(node)
        self._dependents = {n: tuple(sorted(d)) for n, d in dependents.items()}

    @property
    def nodes(self) -> tuple[Address, ...]:
        """All nodes, sorted by address."""
        return self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, addr: object) -> bool:
        return addr in self._deps

    def edges(self) -> list[tuple[Address, Address]]:
        """Every (dependent, dependency) pair, sorted."""
        return [(node, dep) for node in self._nodes for dep in self._deps[node]]

    def dependencies(self, addr: Address) -> tuple[Address, ...]:
        """What `addr` depends on directly, sorted."""
        return self._deps[addr]

    def dependents(self, addr: Address) -> tuple[Address, ...]:
        """What depends on `addr` directly, sorted."""
        return self._dependents[addr]

    def topological_order(self) -> list[Address]:
        """Dependencies before dependents; among ready nodes, the smallest address first."""
        return self._kahn(self._deps, self._dependents)

    def reverse_order(self) -> list[Address]:
        """Dependents before dependencies (the order to destroy in); ties by address."""
        return self._kahn(self._dependents, self._deps)

    def _kahn(self, before: Mapping[Address, tuple[Address, ...]],
              after: Mapping[Address, tuple[Address, ...]]) -> list[Address]:
        waiting = {node: len(before[node]) for node in self._nodes}
        ready = [(*node.sort_key(), node) for node in self._nodes if waiting[node] == 0]
        heapq.heapify(ready)
        order: list[Address] = []
        while ready:
            node = heapq.heappop(ready)[-1]
            order.append(node)
            for nxt in after[node]:
                waiting[nxt] -= 1
                if waiting[nxt] == 0:
                    heapq.heappush(ready, (*nxt.sort_key(), nxt))
        if len(order) != len(self._nodes):
            raise CycleError(self.find_cycles())
        return order

    def find_cycles(self) -> list[tuple[Address, ...]]:
        """One cycle per strongly connected component, each starting at its smallest address.

        A cycle `(a, b)` means a -> b -> a; a node depending on itself gives `(a,)`.
        """
        cycles = []
        for component in _components(self._nodes, self._deps):
            start = min(component)
            if len(component) == 1 and start not in self._deps[start]:
                continue
            cycles.append(self._shortest_cycle(start, component))
        return sorted(cycles)

    def _shortest_cycle(self, start: Address, component: set[Address]) -> tuple[Address, ...]:
        # Breadth-first from start back to start inside its component, smallest addresses first.
        previous: dict[Address, Address] = {}
        queue = [start]
        while queue:
            nxt_queue = []
            for node in queue:
                for dep in self._deps[node]:
                    if dep == start:
                        path = [node]
                        while path[-1] != start:
                            path.append(previous[path[-1]])
                        return tuple(reversed(path))
                    if dep in component and dep not in previous:
                        previous[dep] = node
                        nxt_queue.append(dep)
            queue = nxt_queue
        raise AssertionError("a strongly connected component always has a cycle")

    def to_dot(self, name: str = "mtlsform") -> str:
        """Graphviz text; an edge goes from a resource to what it depends on."""
        lines = [f"digraph {_dot_quote(name)} {{", "  rankdir=RL;", "  node [shape=box];"]
        lines += [f"  {_dot_quote(str(node))};" for node in self._nodes]
        lines += [f"  {_dot_quote(str(a))} -> {_dot_quote(str(b))};" for a, b in self.edges()]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        """Mermaid flowchart text (renders in GitHub pull requests inside a ```mermaid block)."""
        ids = {node: f"n{i}" for i, node in enumerate(self._nodes)}
        lines = ["flowchart RL"]
        lines += [f'  {ids[node]}["{_mermaid_label(str(node))}"]' for node in self._nodes]
        lines += [f"  {ids[a]} --> {ids[b]}" for a, b in self.edges()]
        return "\n".join(lines) + "\n"


def format_cycle(cycle: tuple[Address, ...]) -> str:
    """`certificate.a -> certificate.b -> certificate.a`."""
    return " -> ".join(str(addr) for addr in (*cycle, cycle[0]))


def _components(nodes: tuple[Address, ...],
                deps: Mapping[Address, tuple[Address, ...]]) -> list[set[Address]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    index: dict[Address, int] = {}
    low: dict[Address, int] = {}
    on_stack: set[Address] = set()
    stack: list[Address] = []
    components: list[set[Address]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = deps[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_label(text: str) -> str:
    # Mermaid entity codes keep quotes and '#' from ending or breaking the label.
    return text.replace("#", "#35;").replace('"', "#quot;")


def build_graph(stack: Stack) -> ResourceGraph:
    """The graph of a (valid) stack, with the addresses and edges of DESIGN.md."""
    nodes: list[Address] = []
    edges: dict[Address, list[Address]] = {}
    for name, cert in stack.certificates.items():
        addr = Address("certificate", name)
        nodes.append(addr)
        if cert.issuer and cert.issuer in stack.certificates:
            edges[addr] = [Address("certificate", cert.issuer)]
    uploads = stack.uploaded_certificates()
    for name in uploads:
        addr = Address("ssl_certificate", name)
        nodes.append(addr)
        edges[addr] = [Address("certificate", name)]
    nodes += [Address("load_balancer", name) for name in stack.load_balancers]
    for name, listener in stack.listeners.items():
        addr = Address("listener", name)
        nodes.append(addr)
        edges[addr] = [Address("load_balancer", listener.load_balancer), *_uploads(listener.tls)]
        for rule in listener.rules:
            rule_addr = Address("rule", name, rule.key)
            nodes.append(rule_addr)
            edges[rule_addr] = [addr, *(_uploads(rule.tls) if listener.sni else [])]
            for bound in rule.backends:
                target = Address("target", name, rule.key, bound.backend)
                nodes.append(target)
                edges[target] = [rule_addr]
    return ResourceGraph(nodes, edges)


def _uploads(tls) -> list[Address]:
    if tls is None:
        return []
    names = [tls.certificate] if tls.certificate else []
    if tls.client_ca and tls.mode == "mutual":
        names.append(tls.client_ca)
    return [Address("ssl_certificate", n) for n in names]
