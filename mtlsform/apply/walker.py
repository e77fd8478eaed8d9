"""The graph walker: runs a callback on every node of a dependency graph, concurrently.

It knows nothing about what the nodes are. A node starts as soon as all its dependencies have
succeeded, at most `parallelism` at a time, smallest ready node first (so with parallelism 1 the
order is fully determined). When a node's callback raises, the node has failed and every node
that depends on it, directly or not, is skipped without running and without repeating the
error; nodes that do not depend on it run to the end. When `stop` is set no new node starts,
the running ones finish, and the rest are reported as not started.

Lanes group nodes whose fates are tied, as data the caller gives (`lanes`: node -> lane key)
with a predicate on errors (`closes_lane`). When a node fails with an error the predicate
accepts, its lane closes: no other node of that lane starts (they are `held`, naming the
failure that closed it, and their dependents are skipped), the running ones finish, and the
other lanes go on.

Exclusive lanes (`exclusive`: node -> key) are what can only do one thing at a time: a node of
one takes a worker only when its lane is free, so no worker ever waits for another node of its
lane, and nodes of other lanes (or of none) start meanwhile. A node of a busy lane is parked on
that lane and starts, smallest first, when the lane frees. Nodes of one lane that share a batch
key (`batches`: node -> key) may hold their lane together: when one starts, the other ready nodes
of its lane and batch start with it (at most `max_batch`, and never more than `parallelism`, in
all), and the lane frees when they have all ended; nodes that become ready later wait for the
next turn. A batch is one piece of work for whatever the lane stands for (one shared call), so
it counts once towards `parallelism` (its nodes run on threads of their own); with a
parallelism of 1 a batch is one node, so nodes run strictly one at a time.

Hooks are called on the thread that called `walk`, one at a time, so a progress display does
not need locks; the walker itself never prints.
"""

from __future__ import annotations

import heapq
import queue
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from mtlsform.dag import CycleError, Dag


class _Node(Hashable, Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


N = TypeVar("N", bound=_Node)


class WalkHooks(Generic[N]):
    """Progress callbacks; override what you need. Called on the walking thread."""

    def started(self, node: N) -> None:
        """The node's callback is about to run."""

    def finished(self, node: N) -> None:
        """The node's callback returned."""

    def failed(self, node: N, error: BaseException) -> None:
        """The node's callback raised `error`."""

    def skipped(self, node: N, cause: N) -> None:
        """The node will not run because `cause`, one of its ancestors, failed or was held."""

    def held(self, node: N, cause: N) -> None:
        """The node will not run because `cause`, of the same lane, failed and closed it."""

    def together(self, nodes: list[N]) -> None:
        """These nodes of one batch start now, together (before their `started`)."""


@dataclass
class WalkResult(Generic[N]):
    """What happened to each node: exactly one of the five."""

    succeeded: list[N] = field(default_factory=list)  # in completion order
    failed: dict[N, BaseException] = field(default_factory=dict)
    skipped: dict[N, N] = field(default_factory=dict)  # node -> the failed or held ancestor
    held: dict[N, N] = field(default_factory=dict)  # node -> the failure that closed its lane
    not_started: list[N] = field(default_factory=list)  # sorted; only when stopped

    @property
    def ok(self) -> bool:
        """Every node succeeded."""
        return not (self.failed or self.skipped or self.held or self.not_started)


def _check_graph(nodes: list[N], dependencies: Mapping[N, Iterable[N]]) -> dict[N, set[N]]:
    known = set(nodes)
    deps: dict[N, set[N]] = {n: set() for n in nodes}
    for node, needs in dependencies.items():
        if node not in known:
            raise ValueError(f"dependencies are given for {node}, which is not a node")
        for need in needs:
            if need not in known:
                raise ValueError(f"{node} depends on {need}, which is not a node")
            deps[node].add(need)
    try:
        Dag(nodes, deps).check_acyclic()
    except CycleError as exc:
        raise ValueError(str(exc)) from None
    return deps


def walk(nodes: Iterable[N], dependencies: Mapping[N, Iterable[N]],
         visit: Callable[[N], None], *, parallelism: int = 10,
         hooks: WalkHooks[N] | None = None,
         stop: threading.Event | None = None,
         lanes: Mapping[N, Hashable] | None = None,
         closes_lane: Callable[[BaseException], bool] | None = None,
         exclusive: Mapping[N, Hashable] | None = None,
         batches: Mapping[N, Hashable] | None = None,
         max_batch: int = 20) -> WalkResult[N]:
    """Calls `visit(node)` for every node after all of `dependencies[node]` succeeded.

    Nodes must be hashable and sortable. A dependency on an unknown node or a cycle is a
    `ValueError` before anything runs. A node without a lane in `lanes` (or `exclusive`) is in
    none; one without a key in `batches` runs alone in its exclusive lane.
    """
    if parallelism < 1:
        raise ValueError(f"parallelism must be at least 1, not {parallelism}")
    if max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, not {max_batch}")
    node_list = sorted(set(nodes))
    deps = _check_graph(node_list, dependencies)
    hooks = hooks if hooks is not None else WalkHooks()
    dependents: dict[N, list[N]] = {n: [] for n in node_list}
    for node, needs in deps.items():
        for need in needs:
            dependents[need].append(node)
    waiting = {n: len(needs) for n, needs in deps.items()}
    result: WalkResult[N] = WalkResult()
    done: queue.SimpleQueue[tuple[N, BaseException | None]] = queue.SimpleQueue()

    def run(node: N) -> None:
        try:
            visit(node)
        except BaseException as exc:  # the node failed; whatever it was, it is reported
            done.put((node, exc))
        else:
            done.put((node, None))

    lane_of: Mapping[N, Hashable] = lanes if lanes is not None else {}
    closed: dict[Hashable, N] = {}  # lane -> the failure that closed it
    scheduler = _Lanes(exclusive if exclusive is not None else {},
                       batches if batches is not None else {})
    for node in node_list:
        if waiting[node] == 0:
            scheduler.ready(node)

    def skip_dependents_of(failed: N) -> None:
        todo = sorted(dependents[failed])
        while todo:
            node = todo.pop(0)
            if node in result.skipped:
                continue
            result.skipped[node] = failed
            hooks.skipped(node, failed)
            todo.extend(sorted(dependents[node]))

    running = 0  # nodes running
    slots = 0  # groups running: what `parallelism` caps
    group_of: dict[N, list[int]] = {}  # node -> [nodes of its group still running]
    largest = min(max_batch, parallelism)
    threads = parallelism * largest if batches else parallelism
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mtlsform-walk") as pool:
        while True:
            while slots < parallelism and not (stop is not None and stop.is_set()):
                group = scheduler.next(largest)
                if not group:
                    break
                starting = []
                for node in group:
                    closer = closed.get(lane_of[node]) if node in lane_of else None
                    if closer is None:
                        starting.append(node)
                        continue
                    result.held[node] = closer
                    hooks.held(node, closer)
                    skip_dependents_of(node)
                    scheduler.ended(node)
                if len(starting) > 1:
                    hooks.together(starting)
                if starting:
                    slots += 1
                    left = [len(starting)]
                for node in starting:
                    group_of[node] = left
                    hooks.started(node)
                    running += 1
                    pool.submit(run, node)
            if running == 0:
                break
            node, error = done.get()
            running -= 1
            left = group_of.pop(node)
            left[0] -= 1
            if left[0] == 0:
                slots -= 1
            scheduler.ended(node)
            if error is None:
                result.succeeded.append(node)
                hooks.finished(node)
                for dependent in dependents[node]:
                    waiting[dependent] -= 1
                    if waiting[dependent] == 0 and dependent not in result.skipped:
                        scheduler.ready(dependent)
            else:
                result.failed[node] = error
                hooks.failed(node, error)
                if node in lane_of and closes_lane is not None and closes_lane(error):
                    closed.setdefault(lane_of[node], node)
                skip_dependents_of(node)
    finished = set(result.succeeded) | set(result.failed) | set(result.skipped) \
        | set(result.held)
    result.not_started = [n for n in node_list if n not in finished]
    return result


class _Lanes(Generic[N]):
    """Which ready node starts next: the smallest one whose exclusive lane is free (or that has
    none), with the ready siblings of its batch. Used by the walking thread only."""

    def __init__(self, exclusive: Mapping[N, Hashable], batches: Mapping[N, Hashable]) -> None:
        self._lane = exclusive
        self._batch = batches
        # Startable: free nodes, and the head of each free lane's parked heap (entries are
        # checked when popped: a lane that became busy, or a head that changed, is dropped).
        self._heap: list[tuple[N, bool, Hashable]] = []
        self._parked: dict[Hashable, list[N]] = {}
        self._busy: dict[Hashable, int] = {}  # lane -> its running nodes

    def ready(self, node: N) -> None:
        if node not in self._lane:
            heapq.heappush(self._heap, (node, False, None))
            return
        lane = self._lane[node]
        parked = self._parked.setdefault(lane, [])
        heapq.heappush(parked, node)
        if not self._busy.get(lane) and parked[0] == node:
            heapq.heappush(self._heap, (node, True, lane))

    def next(self, room: int) -> list[N]:
        """Up to `room` nodes to start now (several only for one batch); none: nothing can."""
        while self._heap:
            node, laned, lane = heapq.heappop(self._heap)
            if not laned:
                return [node]
            parked = self._parked.get(lane)
            if self._busy.get(lane) or not parked or parked[0] != node:
                continue  # stale
            heapq.heappop(parked)
            group = [node]
            key = self._batch.get(node)
            if key is not None and room > 1:
                siblings = sorted(n for n in parked if self._batch.get(n) == key)[:room - 1]
                if siblings:
                    chosen = set(siblings)
                    parked[:] = [n for n in parked if n not in chosen]
                    heapq.heapify(parked)
                    group += siblings
            self._busy[lane] = len(group)
            return group
        return []

    def ended(self, node: N) -> None:
        """`node` ended (or will not run after all): its lane may free."""
        if node not in self._lane:
            return
        lane = self._lane[node]
        self._busy[lane] -= 1
        if self._busy[lane] == 0:
            del self._busy[lane]
            parked = self._parked.get(lane)
            if parked:
                heapq.heappush(self._heap, (parked[0], True, lane))
