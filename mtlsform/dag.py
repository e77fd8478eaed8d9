"""A directed acyclic graph of any sortable nodes: edges, order, cycles named, DOT and Mermaid.

The one graph of the project. The stack checks (issuer cycles), the resource graph of a stack,
the planner, apply's operation graph and the walker all use it; it knows nothing of what its
nodes are. Edges point from a node to what it depends on, so `topological_order` lists
dependencies first and `reverse_order` dependents first. Every order is deterministic: ties go
to the smallest node.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar


class _Sortable(Hashable, Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


N = TypeVar("N", bound=_Sortable)


class CycleError(ValueError):
    """The graph has a dependency cycle, so it has no order."""

    def __init__(self, cycles: list[tuple[Any, ...]]) -> None:
        super().__init__("dependency cycle: " + "; ".join(format_cycle(c) for c in cycles))
        self.cycles = cycles


def format_cycle(cycle: tuple[Any, ...]) -> str:
    """`a -> b -> a` for the cycle `(a, b)`."""
    return " -> ".join(str(node) for node in (*cycle, cycle[0]))


class Dag(Generic[N]):
    """Nodes and "depends on" edges; `dependencies(a)` are the nodes `a` depends on.

    An edge naming a node that is not in the graph is a `ValueError`. A cycle is allowed in
    the value (so it can be reported); asking it for an order raises `CycleError`.
    """

    def __init__(self, nodes: Iterable[N], edges: Mapping[N, Iterable[N]] | None = None) -> None:
        # Nodes are sorted once, and the edges kept as ranks in that order (ints): a graph of
        # 10,000 nodes costs one sort of its nodes, and its orders compare no nodes.
        self._nodes: tuple[N, ...] = _sorted_nodes(set(nodes))
        rank = {node: i for i, node in enumerate(self._nodes)}
        self._rank = rank
        deps: list[set[int]] = [set() for _ in self._nodes]
        dependents: list[set[int]] = [set() for _ in self._nodes]
        for node, targets in (edges or {}).items():
            i = rank.get(node)
            if i is None:
                raise ValueError(f"an edge names {node}, which is not a node of the graph")
            for target in targets:
                j = rank.get(target)
                if j is None:
                    raise ValueError(
                        f"an edge names {target}, which is not a node of the graph")
                deps[i].add(j)
                dependents[j].add(i)
        self._dep_ranks = [tuple(sorted(d)) for d in deps]
        self._dependent_ranks = [tuple(sorted(d)) for d in dependents]
        self._dep_nodes: dict[N, tuple[N, ...]] | None = None
        self._dependent_nodes: dict[N, tuple[N, ...]] | None = None

    @property
    def _deps(self) -> dict[N, tuple[N, ...]]:
        if self._dep_nodes is None:
            self._dep_nodes = self._as_nodes(self._dep_ranks)
        return self._dep_nodes

    @property
    def _dependents(self) -> dict[N, tuple[N, ...]]:
        if self._dependent_nodes is None:
            self._dependent_nodes = self._as_nodes(self._dependent_ranks)
        return self._dependent_nodes

    def _as_nodes(self, ranks: list[tuple[int, ...]]) -> dict[N, tuple[N, ...]]:
        nodes = self._nodes
        return {node: tuple(nodes[j] for j in ranks[i]) for i, node in enumerate(nodes)}

    @property
    def nodes(self) -> tuple[N, ...]:
        """All nodes, sorted."""
        return self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._rank

    def edges(self) -> list[tuple[N, N]]:
        """Every (dependent, dependency) pair, sorted."""
        nodes = self._nodes
        return [(node, nodes[j]) for i, node in enumerate(nodes) for j in self._dep_ranks[i]]

    def dependencies(self, node: N) -> tuple[N, ...]:
        """What `node` depends on directly, sorted."""
        return self._deps[node]

    def dependents(self, node: N) -> tuple[N, ...]:
        """What depends on `node` directly, sorted."""
        return self._dependents[node]

    def topological_order(self) -> list[N]:
        """Dependencies before dependents; among ready nodes, the smallest first."""
        return self._kahn(self._dep_ranks, self._dependent_ranks)

    def reverse_order(self) -> list[N]:
        """Dependents before dependencies (the order to destroy in); ties to the smallest."""
        return self._kahn(self._dependent_ranks, self._dep_ranks)

    def check_acyclic(self) -> None:
        """Raises `CycleError` naming every cycle, or returns."""
        cycles = self.find_cycles()
        if cycles:
            raise CycleError(cycles)

    def reduced(self) -> Dag[N]:
        """The transitive reduction: an edge only where no longer path joins the two nodes."""
        self.check_acyclic()
        order = self.topological_order()
        reach: dict[N, set[N]] = {}
        kept: dict[N, list[N]] = {}
        for node in order:  # dependencies first, so their reach is complete
            direct = self._deps[node]
            through = set().union(*(reach[d] for d in direct)) if direct else set()
            kept[node] = [d for d in direct if d not in through]
            reach[node] = through | set(direct)
        return Dag(self._nodes, kept)

    def _kahn(self, before: list[tuple[int, ...]], after: list[tuple[int, ...]]) -> list[N]:
        nodes = self._nodes
        waiting = [len(ranks) for ranks in before]
        ready = [i for i, count in enumerate(waiting) if count == 0]  # sorted: a heap
        order: list[N] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(nodes[i])
            for j in after[i]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    heapq.heappush(ready, j)
        if len(order) != len(nodes):
            raise CycleError(self.find_cycles())
        return order

    def find_cycles(self) -> list[tuple[N, ...]]:
        """One cycle per strongly connected component, each starting at its smallest node.

        A cycle `(a, b)` means a -> b -> a; a node depending on itself gives `(a,)`.
        """
        cycles = []
        for component in _components(self._nodes, self._deps):
            start = min(component)
            if len(component) == 1 and start not in self._deps[start]:
                continue
            cycles.append(self._shortest_cycle(start, component))
        return sorted(cycles)

    def _shortest_cycle(self, start: N, component: set[N]) -> tuple[N, ...]:
        # Breadth-first from start back to start inside its component, smallest nodes first.
        previous: dict[N, N] = {}
        frontier = [start]
        while frontier:
            following = []
            for node in frontier:
                for dep in self._deps[node]:
                    if dep == start:
                        path = [node]
                        while path[-1] != start:
                            path.append(previous[path[-1]])
                        return tuple(reversed(path))
                    if dep in component and dep not in previous:
                        previous[dep] = node
                        following.append(dep)
            frontier = following
        raise AssertionError("a strongly connected component always has a cycle")

    def to_dot(self, name: str = "mtlsform", label: Callable[[N], str] = str) -> str:
        """Graphviz text; an edge goes from a node to what it depends on."""
        lines = [f"digraph {_dot_quote(name)} {{", "  rankdir=RL;", "  node [shape=box];"]
        lines += [f"  {_dot_quote(label(node))};" for node in self._nodes]
        lines += [f"  {_dot_quote(label(a))} -> {_dot_quote(label(b))};"
                  for a, b in self.edges()]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self, label: Callable[[N], str] = str) -> str:
        """Mermaid flowchart text (renders in GitHub pull requests inside a ```mermaid block)."""
        ids = {node: f"n{i}" for i, node in enumerate(self._nodes)}
        lines = ["flowchart RL"]
        lines += [f'  {ids[node]}["{_mermaid_label(label(node))}"]' for node in self._nodes]
        lines += [f"  {ids[a]} --> {ids[b]}" for a, b in self.edges()]
        return "\n".join(lines) + "\n"


def _sorted_nodes(nodes: set[N]) -> tuple[N, ...]:
    """Nodes in their order. Nodes whose type offers `sort_key()` (addresses do: the same
    order as `<`) are sorted by it, a tuple comparison per step instead of a Python call."""
    first = next(iter(nodes), None)
    key = getattr(type(first), "sort_key", None)
    if key is not None and all(type(node) is type(first) for node in nodes):
        return tuple(sorted(nodes, key=key))
    return tuple(sorted(nodes))


def _components(nodes: tuple[N, ...], deps: Mapping[N, tuple[N, ...]]) -> list[set[N]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on_stack: set[N] = set()
    stack: list[N] = []
    components: list[set[N]] = []
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
