"""The graph walker, with plain functions and data: order, concurrency cap, failures, stop."""

from __future__ import annotations

import random
import threading

import pytest

from mtlsform.addresses import Address
from mtlsform.apply.walker import WalkHooks, WalkResult, walk

HANDSHAKE_TIMEOUT = 10  # only reached when the walker is wrong


class Recorder(WalkHooks):
    """Records hook calls in order (hooks run on the walking thread)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def started(self, node):
        self.events.append(("started", node))

    def finished(self, node):
        self.events.append(("finished", node))

    def failed(self, node, error):
        self.events.append(("failed", node, str(error)))

    def skipped(self, node, cause):
        self.events.append(("skipped", node, cause))


class Log:
    """Start/end events of visits, recorded from the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, object]] = []

    def add(self, kind: str, node: object) -> None:
        with self.lock:
            self.events.append((kind, node))

    def index(self, kind: str, node: object) -> int:
        return self.events.index((kind, node))

    def started(self) -> list:
        return [n for kind, n in self.events if kind == "start"]


def recording_visit(log: Log, fail: set = frozenset()):
    def visit(node):
        log.add("start", node)
        if node in fail:
            raise RuntimeError(f"{node} broke")
        log.add("end", node)
    return visit


def random_dag(rng: random.Random, size: int) -> dict[int, set[int]]:
    # Edges only from higher to lower numbers: acyclic by construction.
    return {n: {d for d in range(n) if rng.random() < 0.15} for n in range(size)}


@pytest.mark.parametrize("seed", range(5))
def test_every_node_starts_after_all_its_dependencies_ended(seed):
    rng = random.Random(seed)
    deps = random_dag(rng, 40)
    log = Log()
    result = walk(deps, deps, recording_visit(log), parallelism=4)
    assert sorted(result.succeeded) == list(range(40))
    assert result.ok and not result.failed and not result.skipped and not result.not_started
    for node, needs in deps.items():
        for need in needs:
            assert log.index("end", need) < log.index("start", node), (need, node)


def test_parallelism_cap_is_reached_and_never_exceeded():
    cap = 3
    barrier = threading.Barrier(cap, timeout=HANDSHAKE_TIMEOUT)
    lock = threading.Lock()
    active = peak = returned = dispatched = 0
    most_outstanding = 0

    def visit(node):
        nonlocal active, peak, returned
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            barrier.wait()  # proceeds only once `cap` visits are inside together
        finally:
            with lock:
                active -= 1
                returned += 1

    class Dispatch(WalkHooks):
        # Called just before a node is handed to a thread: everything handed out and not yet
        # returned may be running, so this bounds the real concurrency at every dispatch.
        def started(self, node):
            nonlocal dispatched, most_outstanding
            with lock:
                dispatched += 1
                most_outstanding = max(most_outstanding, dispatched - returned)

    result = walk(range(3 * cap), {}, visit, parallelism=cap, hooks=Dispatch())
    assert result.ok, result.failed
    assert peak == cap  # the cap is reached: visits really run side by side
    assert most_outstanding == cap  # and never exceeded


def test_a_node_starts_as_soon_as_its_own_dependencies_are_done():
    # `slow` waits until `after_fast` has run: a level-by-level walker would deadlock.
    released = threading.Event()

    def visit(node):
        if node == "slow":
            assert released.wait(HANDSHAKE_TIMEOUT), "after_fast never ran while slow ran"
        if node == "after_fast":
            released.set()

    deps = {"slow": [], "fast": [], "after_fast": ["fast"], "end": ["slow", "after_fast"]}
    result = walk(deps, deps, visit, parallelism=2)
    assert result.ok, result.failed
    assert result.succeeded[-1] == "end"


def test_parallelism_one_runs_in_a_fixed_order():
    deps = {"a": [], "b": ["d"], "c": [], "d": [], "e": ["a", "c"]}
    for _ in range(3):
        log = Log()
        walk(deps, deps, recording_visit(log), parallelism=1)
        # always the smallest ready node first
        assert log.started() == ["a", "c", "d", "b", "e"]


def test_diamond_failure_skips_everything_below_and_spares_the_rest():
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "x": [], "y": ["x"]}
    log, hooks = Log(), Recorder()
    result = walk(deps, deps, recording_visit(log, fail={"a"}), parallelism=3, hooks=hooks)
    assert list(result.failed) == ["a"]
    assert str(result.failed["a"]) == "a broke"
    assert result.skipped == {"b": "a", "c": "a", "d": "a"}
    assert sorted(result.succeeded) == ["x", "y"]
    assert result.not_started == []
    assert not result.ok
    assert set(log.started()) == {"a", "x", "y"}  # skipped nodes never ran
    # the error is reported once; skipped nodes are reported as such, with their cause
    assert [e for e in hooks.events if e[0] == "failed"] == [("failed", "a", "a broke")]
    assert sorted(e[1:] for e in hooks.events if e[0] == "skipped") == [
        ("b", "a"), ("c", "a"), ("d", "a")]


def test_one_failing_branch_of_a_diamond():
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    log = Log()
    result = walk(deps, deps, recording_visit(log, fail={"b"}), parallelism=2)
    assert sorted(result.succeeded) == ["a", "c"]
    assert list(result.failed) == ["b"]
    assert result.skipped == {"d": "b"}
    assert "d" not in log.started()


def test_chain_failure_names_the_failed_ancestor_for_every_skipped_node():
    deps = {1: [], 2: [1], 3: [2], 4: [3], 5: [4]}
    result = walk(deps, deps, recording_visit(Log(), fail={2}), parallelism=4)
    assert result.succeeded == [1]
    assert list(result.failed) == [2]
    assert result.skipped == {3: 2, 4: 2, 5: 2}


def test_independent_failures_are_each_reported():
    deps = {"a": [], "b": [], "c": ["a"], "d": ["b"], "e": ["c", "d"], "f": []}
    result = walk(deps, deps, recording_visit(Log(), fail={"a", "b"}), parallelism=1)
    assert set(result.failed) == {"a", "b"}
    assert result.skipped == {"c": "a", "e": "a", "d": "b"}
    assert result.succeeded == ["f"]


def test_stop_lets_running_nodes_finish_and_starts_nothing_new():
    stop = threading.Event()
    log = Log()

    def visit(node):
        log.add("start", node)
        if node == 2:
            stop.set()
        log.add("end", node)

    deps = {1: [], 2: [1], 3: [2], 4: [], 5: []}
    result = walk(deps, deps, visit, parallelism=1, stop=stop)
    assert result.succeeded == [1, 2]
    assert result.not_started == [3, 4, 5]
    assert log.started() == [1, 2]
    assert not result.failed and not result.skipped


def test_stop_while_several_run():
    stop = threading.Event()
    both_in = threading.Barrier(2, timeout=HANDSHAKE_TIMEOUT)

    def visit(node):
        if node in ("a", "b"):
            both_in.wait()
            stop.set()

    deps = {"a": [], "b": [], "c": [], "d": ["a"]}
    result = walk(deps, deps, visit, parallelism=2, stop=stop)
    assert sorted(result.succeeded) == ["a", "b"]
    assert result.not_started == ["c", "d"]


def test_stop_already_set_runs_nothing():
    stop = threading.Event()
    stop.set()
    result = walk(["a", "b"], {}, recording_visit(Log()), stop=stop)
    assert result == WalkResult(not_started=["a", "b"])


def test_hooks_see_start_then_outcome_for_each_node():
    hooks = Recorder()
    deps = {"a": [], "b": ["a"]}
    walk(deps, deps, recording_visit(Log()), parallelism=1, hooks=hooks)
    assert hooks.events == [("started", "a"), ("finished", "a"),
                            ("started", "b"), ("finished", "b")]


def test_addresses_as_nodes():
    lb, listener = Address.parse("load_balancer.web"), Address.parse("listener.https")
    rule = Address.parse('rule.https["www.example.com/"]')
    deps = {listener: [lb], rule: [listener]}
    log = Log()
    result = walk([rule, listener, lb], deps, recording_visit(log), parallelism=1)
    assert result.succeeded == [lb, listener, rule]


def test_a_visit_raising_base_exception_is_a_failure_too():
    def visit(node):
        raise KeyboardInterrupt

    result = walk(["a"], {}, visit)
    assert isinstance(result.failed["a"], KeyboardInterrupt)


def test_unknown_dependency_is_refused_before_anything_runs():
    log = Log()
    with pytest.raises(ValueError, match="b depends on ghost, which is not a node"):
        walk(["a", "b"], {"b": ["ghost"]}, recording_visit(log))
    with pytest.raises(ValueError, match="ghost, which is not a node"):
        walk(["a"], {"ghost": ["a"]}, recording_visit(log))
    assert log.events == []


def test_cycle_is_refused_and_named():
    log = Log()
    deps = {"a": ["c"], "b": ["a"], "c": ["b"], "d": []}
    with pytest.raises(ValueError, match="dependency cycle: ") as info:
        walk(deps, deps, recording_visit(log))
    assert {"a", "b", "c"} <= set(str(info.value).split(": ")[1].split(" -> "))
    with pytest.raises(ValueError, match="dependency cycle: a -> a"):
        walk(["a"], {"a": ["a"]}, recording_visit(log))
    assert log.events == []


def test_parallelism_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        walk(["a"], {}, lambda n: None, parallelism=0)


def test_empty_graph():
    assert walk([], {}, lambda n: None) == WalkResult()


# --- exclusive lanes ---------------------------------------------------------------------


class Occupancy:
    """How many nodes of each lane run at once, counted from the worker threads."""

    def __init__(self, lane_of: dict) -> None:
        self.lane_of = lane_of
        self.lock = threading.Lock()
        self.now: dict = {}
        self.peak: dict = {}
        self.overlaps = 0  # starts while another lane was busy

    def enter(self, node) -> None:
        lane = self.lane_of.get(node)
        with self.lock:
            if any(n for other, n in self.now.items() if other != lane):
                self.overlaps += 1
            self.now[lane] = self.now.get(lane, 0) + 1
            self.peak[lane] = max(self.peak.get(lane, 0), self.now[lane])

    def leave(self, node) -> None:
        with self.lock:
            self.now[self.lane_of.get(node)] -= 1


def test_a_busy_lane_takes_no_worker_and_other_lanes_go_on():
    # a1..a5 are the smallest nodes: a walker without lanes would give both workers to lane
    # "a", and a1 would wait for b forever. With lanes a2..a5 are parked and b starts.
    lanes = {f"a{n}": "a" for n in range(1, 6)} | {"b": "b"}
    b_ran = threading.Event()
    occupancy = Occupancy(lanes)

    def visit(node):
        occupancy.enter(node)
        if node == "a1":
            assert b_ran.wait(HANDSHAKE_TIMEOUT), "lane b never started while a was busy"
        if node == "b":
            b_ran.set()
        occupancy.leave(node)

    result = walk(list(lanes), {}, visit, parallelism=2, exclusive=lanes)
    assert result.ok, result.failed
    assert occupancy.peak == {"a": 1, "b": 1}
    assert occupancy.overlaps >= 1


def test_nodes_without_a_lane_run_beside_a_busy_lane():
    lanes = {"a1": "a", "a2": "a"}
    free_ran = threading.Event()

    def visit(node):
        if node == "a1":
            assert free_ran.wait(HANDSHAKE_TIMEOUT)
        if node == "z":
            free_ran.set()

    result = walk(["a1", "a2", "z"], {}, visit, parallelism=3, exclusive=lanes)
    assert result.ok, result.failed


def test_one_batch_holds_its_lane_together_and_alone():
    # t1..t3 share a batch: they start together (the barrier needs all three); u and v, of
    # the same lane, run only after the batch, one at a time.
    lanes = {n: "lb" for n in ("t1", "t2", "t3", "u", "v")}
    batches = {"t1": "rule", "t2": "rule", "t3": "rule"}
    barrier = threading.Barrier(3, timeout=HANDSHAKE_TIMEOUT)
    occupancy = Occupancy(lanes)
    log = Log()

    def visit(node):
        occupancy.enter(node)
        log.add("start", node)
        if node in batches:
            barrier.wait()
        log.add("end", node)
        occupancy.leave(node)

    result = walk(list(lanes), {}, visit, parallelism=10, exclusive=lanes, batches=batches)
    assert result.ok, result.failed
    assert occupancy.peak == {"lb": 3}
    ends = [log.index("end", t) for t in ("t1", "t2", "t3")]
    assert log.index("start", "u") > max(ends) and log.index("start", "v") > max(ends)
    assert log.index("end", "u") < log.index("start", "v")  # u, smaller, first; then v


def test_a_batch_takes_one_worker_and_is_cut_at_max_batch_and_the_parallelism():
    # Seven siblings, parallelism 4, max_batch 3: three start together (the barrier needs them
    # all, and "z" of another lane, which needs the second worker), then three, then one.
    lanes = {f"t{n}": "lb" for n in range(7)} | {"z": "other"}
    batches = {f"t{n}": "rule" for n in range(7)}
    first = threading.Barrier(4, timeout=HANDSHAKE_TIMEOUT)
    occupancy = Occupancy(lanes)
    together: list[list[str]] = []

    class Hooks(WalkHooks):
        def together(self, nodes):
            together.append(list(nodes))

    def visit(node):
        occupancy.enter(node)
        if node in ("t0", "t1", "t2", "z"):
            first.wait()
        occupancy.leave(node)

    result = walk(list(lanes), {}, visit, parallelism=4, exclusive=lanes, batches=batches,
                  max_batch=3, hooks=Hooks())
    assert result.ok and len(result.succeeded) == 8
    assert together == [["t0", "t1", "t2"], ["t3", "t4", "t5"]]
    assert occupancy.peak == {"lb": 3, "other": 1}
    # parallelism 2: a batch is at most two nodes, whatever max_batch says
    together.clear()
    result = walk([f"t{n}" for n in range(5)], {}, lambda node: None, parallelism=2,
                  exclusive=lanes, batches=batches, hooks=Hooks())
    assert result.ok and together == [["t0", "t1"], ["t2", "t3"]]


def test_with_parallelism_1_a_batch_runs_one_node_at_a_time():
    # --parallelism 1 means one operation at a time, batched or not (Ctrl-C then finishes one)
    lanes = {f"t{n}": "lb" for n in range(3)} | {"z": "other"}
    batches = {f"t{n}": "rule" for n in range(3)}
    occupancy = Occupancy(lanes)

    def visit(node):
        occupancy.enter(node)
        occupancy.leave(node)

    result = walk(list(lanes), {}, visit, parallelism=1, exclusive=lanes, batches=batches)
    assert result.ok and len(result.succeeded) == 4
    assert occupancy.peak == {"lb": 1, "other": 1}
    assert occupancy.overlaps == 0


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_never_run_two_of_one_lane_at_once(seed):
    rng = random.Random(seed)
    deps = random_dag(rng, 40)
    lanes = {n: rng.choice("abcd") for n in deps if rng.random() < 0.8}
    occupancy = Occupancy(lanes)
    log = Log()

    def visit(node):
        occupancy.enter(node)
        log.add("start", node)
        for dep in deps[node]:
            assert ("end", dep) in log.events
        log.add("end", node)
        occupancy.leave(node)

    result = walk(list(deps), deps, visit, parallelism=4, exclusive=lanes)
    assert result.ok and len(result.succeeded) == 40
    assert all(peak == 1 for lane, peak in occupancy.peak.items() if lane is not None)


def test_lanes_with_parallelism_one_keep_the_fixed_order():
    lanes = {3: "x", 1: "x", 2: "y"}
    log = Log()
    walk([1, 2, 3, 4], {}, recording_visit(log), parallelism=1, exclusive=lanes)
    assert log.started() == [1, 2, 3, 4]


def test_a_closed_lane_frees_its_exclusive_lane_too():
    # a1 fails with a lane-closing error: a2 (same quota lane) is held, and the exclusive
    # lane it would have taken does not stay busy for b.
    exclusive = {"a1": "lb", "a2": "lb", "b": "lb"}
    quota = {"a1": "q", "a2": "q"}
    result = walk(["a1", "a2", "b"], {}, recording_visit(Log(), fail={"a1"}), parallelism=2,
                  exclusive=exclusive, lanes=quota, closes_lane=lambda e: True)
    assert set(result.failed) == {"a1"}
    assert result.held == {"a2": "a1"}
    assert result.succeeded == ["b"]
