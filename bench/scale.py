"""Benchmark: apply at any size, against the bound the operation graph sets.

For each stack shape (CLBs x listeners x rules x backends, within the cloud's quotas) and each
scheduling mode it starts a served emulator (`mtlsform emulator serve` in its own process, with
the task time and per-call latency given), then measures through the session API, as `plan`
and `apply` run them:

  validate       loading and checking the stack, and compiling its resource graph (what
                 `mtlsform validate` does, and `plan` before it plans)
  apply          apply from empty
  no-op plan     refresh and diff of the validated stack right after it (nothing to do), and
                 the whole of an in-process `plan`: load, check, state read, refresh, diff
  weight         one backend's weight changed on every rule (one update per rule)
  destroy        destroy of everything

Each of them runs in a fresh process, as each command of the CLI does, beside the one served
emulator of its shape and mode. For each: wall time, API calls by action (the emulator's
counts), peak resident memory of that process (ru_maxrss) and the bytes it wrote
(/proc/self/io wchar: the state file, its backup and its journal; nothing else is written).
The no-op plan is measured NOOP_RUNS times, in one process: its median, fastest and slowest.

Each apply's lower bound comes from its operation graph (the executor's own lanes, see
`apply.executor.write_lanes`): every lane's writes go in series, each at least a call, its task
and one status read (2 x latency + task); a batch of target writes counts as one write per 20
targets; writes outside lanes (certificate uploads) run in parallel beside them. No apply can
be faster than its busiest lane, nor than its writes' status polls at the per-action rate limit
(20/s: each write needs at least one DescribeTaskStatus). The report gives wall/bound for
the default scheduling (`--parallelism 10`), for `--parallelism 1` and for one global write
lock for all CLBs (what the Terraform provider does), all in one run.

Run: python bench/scale.py [--shape 1x2x5x4 --shape 4x2x5x4 ...] [--task 0.2] [--latency 0.03]
     [--modes default,p1,global] [--dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mtlsform.apply.executor import WriteLanes, write_lanes  # noqa: E402
from mtlsform.apply.operations import build_operations  # noqa: E402
from mtlsform.plan.model import Plan  # noqa: E402
from mtlsform.resources.graph import resource_graph  # noqa: E402
from mtlsform.sensitive import Sensitive  # noqa: E402
from mtlsform.session import open_session  # noqa: E402
from mtlsform.stack import load_stack  # noqa: E402
from mtlsform.state.model import State  # noqa: E402

# Quotas (docs/reference: 50 listeners per CLB, 50 rules per listener, 100 servers per rule,
# 100 public CLBs per region) and the rates the provider keeps to.
MAX_CLBS, MAX_LISTENERS, MAX_RULES, MAX_BACKENDS = 100, 50, 50, 100
TARGETS_PER_CALL = 20
RATE = 20.0

MODES: dict[str, tuple[int, WriteLanes]] = {
    "default": (10, "per-parent"),
    "p1": (1, "per-parent"),
    "global": (10, "global"),
}
MODE_NAMES = {"default": "--parallelism 10", "p1": "--parallelism 1",
              "global": "global write lock"}


@dataclass(frozen=True)
class Shape:
    clbs: int
    listeners: int
    rules: int
    backends: int

    @classmethod
    def parse(cls, text: str) -> Shape:
        match = re.fullmatch(r"(\d+)x(\d+)x(\d+)x(\d+)", text.strip())
        if not match:
            raise SystemExit(f"error: shape {text!r}: expected CLBSxLISTENERSxRULESxBACKENDS")
        shape = cls(*(int(g) for g in match.groups()))
        limits = (MAX_CLBS, MAX_LISTENERS, MAX_RULES, MAX_BACKENDS)
        for value, limit, what in zip(shape.counts(), limits,
                                      ("CLBs", "listeners per CLB", "rules per listener",
                                       "backends per rule"), strict=True):
            if not 1 <= value <= limit:
                raise SystemExit(f"error: shape {text}: {value} {what} (the quota is {limit})")
        return shape

    def counts(self) -> tuple[int, int, int, int]:
        return self.clbs, self.listeners, self.rules, self.backends

    def __str__(self) -> str:
        return "x".join(str(n) for n in self.counts())

    @property
    def resources(self) -> int:
        """Resources in the state: certificates, uploads, CLBs, listeners, rules, targets."""
        rules = self.clbs * self.listeners * self.rules
        return 2 + 2 + self.clbs + self.clbs * self.listeners + rules + rules * self.backends


def stack_text(shape: Shape, *, first_weight: int = 10) -> str:
    """The stack of a shape: every rule over every backend; backend b0 has `first_weight`."""
    lines = [
        "version: 1",
        "stack: scale",
        "provider: {kind: emulator, region: ap-guangzhou}",
        "certificates:",
        "  ca: {type: ca, key: ecdsa-p256, subject: {common_name: Scale Bench CA}}",
        "  server: {type: server, key: ecdsa-p256, issuer: ca,",
        "           subject: {common_name: www.example.com}, dns_names: ['*.example.com']}",
        "load_balancers:",
    ]
    lines += [f"  lb{n}: {{name: scale-{n}}}" for n in range(shape.clbs)]
    lines.append("backends:")
    for b in range(shape.backends):
        weight = first_weight if b == 0 else 10
        lines.append(f"  b{b}: {{ip: 10.1.{b // 250}.{b % 250 + 1}, port: 80, weight: {weight}}}")
    names = ", ".join(f"b{b}" for b in range(shape.backends))
    lines.append("listeners:")
    for n in range(shape.clbs):
        for i in range(shape.listeners):
            lines += [f"  lb{n}-l{i}:", f"    load_balancer: lb{n}", f"    port: {8000 + i}",
                      "    tls: {mode: mutual, certificate: server, client_ca: ca}",
                      "    rules:"]
            lines += [f"      - {{domain: d{j}.example.com, url: /, backends: [{names}]}}"
                      for j in range(shape.rules)]
    return "\n".join(lines) + "\n"


# --- the bound ------------------------------------------------------------------------------


# Calls an operation makes outside its lane's write, by type and phase (the provider's facts:
# a new CLB is read once for its VIP; an upload is one call; deleting one asks which CLBs use
# it, then deletes it).
EXTRA_CALLS = {("load_balancer", "apply"): 1, ("ssl_certificate", "apply"): 1,
               ("ssl_certificate", "delete"): 2, ("ssl_certificate", "delete-old"): 2}


def graph_bound(plan: Plan, state: State, *, task: float, latency: float) -> dict[str, Any]:
    """The longest path of the plan's operation graph, every lane's writes in series.

    A write (in a lane) costs `2 x latency + task`, a batch of target writes one write per 20
    targets; other calls `latency` each. The bound is the longer of the longest dependency
    chain and, for each lane, its writes one after another from the earliest moment its first
    operation could start.
    """
    recorded = {r.address: tuple(r.dependencies) for r in state.resources if r.deposed is None}
    graph = build_operations(plan, recorded)
    exclusive, batches = write_lanes(graph.operations, plan, graph.cascaded)
    write = 2 * latency + task
    cost: dict[Any, float] = {}
    for op in graph.operations:
        calls = 0 if op in graph.cascaded else EXTRA_CALLS.get((op.address.type, op.phase), 0)
        cost[op] = (write if op in exclusive else 0.0) + calls * latency
    units: Counter[Any] = Counter()
    batch_sizes: Counter[Any] = Counter()
    for op, lane in exclusive.items():
        if op in batches:
            batch_sizes[(lane, batches[op])] += 1
        else:
            units[lane] += 1
    for (lane, _), size in batch_sizes.items():
        units[lane] += math.ceil(size / TARGETS_PER_CALL)
    finish: dict[Any, float] = {}
    for op in graph.dag.topological_order():
        finish[op] = cost[op] + max((finish[d] for d in graph.dependencies[op]), default=0.0)
    chain = max(finish.values(), default=0.0)
    lane_start: dict[Any, float] = {}
    for op, lane in exclusive.items():
        start = finish[op] - cost[op]
        lane_start[lane] = min(lane_start.get(lane, start), start)
    lanes = max((lane_start[lane] + n * write for lane, n in units.items()), default=0.0)
    return {"operations": len(graph.operations), "lanes": len(units),
            "writes_busiest_lane": max(units.values(), default=0),
            "writes_total": sum(units.values()),
            "lane_bound": max(chain, lanes)}


def rate_bound(bound: dict[str, Any]) -> float:
    """No apply is faster than its polls at the rate limit: every write needs at least one
    DescribeTaskStatus, and all writes of the run share that action's 20 calls/s."""
    return float(bound["writes_total"]) / RATE


# --- measuring ------------------------------------------------------------------------------


def written_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Served:
    """`mtlsform emulator serve` for one world, in its own process."""

    def __init__(self, data_dir: Path, task: float, latency: float) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MTLSFORM_")}
        self.log = data_dir.parent / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mtlsform", "emulator", "serve", "--data-dir", str(data_dir),
             "--port", "0", "--task-delay", str(task), "--latency", str(latency)],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=data_dir.parent)
        for _ in range(600):
            text = self.log.read_text()
            if "Press Ctrl-C" in text:
                return
            if self.process.poll() is not None:
                raise SystemExit(f"error: the emulator did not start:\n{text}")
            time.sleep(0.05)
        raise SystemExit("error: the emulator did not start in 30 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def load(path: Path) -> Any:
    stack, diagnostics = load_stack(path, environ={})
    if stack is None:
        raise SystemExit("error: " + "; ".join(d.format() for d in diagnostics))
    return stack


def calls_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {a: n - before.get(a, 0) for a, n in sorted(after.items()) if n - before.get(a, 0)}


def phase_apply(path: Path, *, destroy: bool, parallelism: int, lanes: WriteLanes,
                task: float, latency: float) -> dict[str, Any]:
    stack = load(path)
    with open_session(stack, operation="destroy" if destroy else "apply") as session:
        plan = session.plan(destroy=destroy)
        bound = graph_bound(plan, session.state, task=task, latency=latency)
        before = session.provider_context.emulator_stats()["calls"]
        wrote = written_bytes()
        start = time.perf_counter()
        result, _ = session.apply(plan, parallelism=parallelism, lanes=lanes,
                                  p12_password=Sensitive("bench-unused"))
        wall = time.perf_counter() - start
        wrote = written_bytes() - wrote
        calls = calls_delta(before, session.provider_context.emulator_stats()["calls"])
    if not result.ok:
        raise SystemExit(f"error: apply failed: {list(result.failed.items())[:3]}")
    rate = rate_bound(bound)
    bound_s = max(bound["lane_bound"], rate)
    return {"wall": wall, "calls": calls, "bytes_written": wrote, "peak_mib": peak_mib(),
            **bound, "rate_bound": rate, "bound": bound_s,
            "ratio": wall / bound_s if bound_s else None, "changes": len(plan.actionable)}


NOOP_RUNS = 5


def phase_plan(path: Path) -> dict[str, Any]:
    """Refresh and diff of the validated stack (validation is measured on its own), NOOP_RUNS
    times; then a whole plan, from the file."""
    stack = load(path)
    resource_graph(stack)
    walls = []
    for _ in range(NOOP_RUNS):
        with open_session(stack, operation="plan") as session:
            before = session.provider_context.emulator_stats()["calls"]
            start = time.perf_counter()
            plan = session.plan()
            walls.append(time.perf_counter() - start)
            calls = calls_delta(before, session.provider_context.emulator_stats()["calls"])
    start = time.perf_counter()
    again = load(path)
    resource_graph(again)
    with open_session(again, operation="plan") as session:
        session.plan()
    whole = time.perf_counter() - start
    return {"wall": statistics.median(walls), "fastest": min(walls), "slowest": max(walls),
            "whole": whole, "calls": calls, "changes": len(plan.actionable),
            "peak_mib": peak_mib()}


def phase_validate(path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    resource_graph(load(path))
    return {"wall": time.perf_counter() - start, "peak_mib": peak_mib()}


def run_phase(phase: str, path: Path, mode: str, *, task: float, latency: float
              ) -> dict[str, Any]:
    """One phase, in this process (a child of `run_shape`)."""
    parallelism, lanes = MODES[mode]
    common = {"parallelism": parallelism, "lanes": lanes, "task": task, "latency": latency}
    if phase == "validate":
        return phase_validate(path)
    if phase == "noop_plan":
        return phase_plan(path)
    return phase_apply(path, destroy=phase == "destroy", **common)


def in_child(phase: str, path: Path, mode: str, *, task: float, latency: float
             ) -> dict[str, Any]:
    """`run_phase` in a fresh process, so that its peak memory and bytes are its own."""
    out = path.parent / f"{phase}.json"
    subprocess.run([sys.executable, __file__, "--phase", phase, "--stack", str(path),
                    "--modes", mode, "--task", str(task), "--latency", str(latency),
                    "--out", str(out)], check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def run_shape(shape: Shape, mode: str, *, task: float, latency: float, base: Path
              ) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"scale-{shape}-{mode}-", dir=base))
    path = work / "scale.yaml"
    path.write_text(stack_text(shape))
    served = Served(work / ".mtlsform" / "emulator", task, latency)
    out: dict[str, Any] = {"shape": str(shape), "mode": mode, "resources": shape.resources}
    try:
        for phase in ("validate", "apply", "noop_plan", "weight", "destroy"):
            if phase == "weight":
                path.write_text(stack_text(shape, first_weight=20))
            out[phase] = in_child(phase, path, mode, task=task, latency=latency)
    finally:
        served.stop()
        shutil.rmtree(work, ignore_errors=True)
    return out


# --- the report -----------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load1 = os.getloadavg()[0]
    return (f"{cpu}, {os.cpu_count()} logical cores, load {load1:.1f} at start; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}")


def report(results: list[dict[str, Any]]) -> str:
    lines = ["| shape | resources | mode | work | wall s | bound s | wall/bound | writes in "
             "busiest lane | calls | state bytes written | peak MiB |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for work in ("apply", "weight", "destroy"):
            p = r[work]
            lines.append(
                f"| {r['shape']} | {r['resources']} | {MODE_NAMES[r['mode']]} | {work} | "
                f"{p['wall']:.2f} | {p['bound']:.2f} | {p['ratio']:.2f} | "
                f"{p['writes_busiest_lane']} | {sum(p['calls'].values())} | "
                f"{p['bytes_written']:,} | {p['peak_mib']:.0f} |")
    lines += ["", f"| shape | mode | validate s | no-op plan s (refresh + diff: median of "
              f"{NOOP_RUNS}, fastest - slowest) | whole plan s | plan peak MiB "
              "| no-op plan calls |", "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        plan = r["noop_plan"]
        calls = ", ".join(f"{a} {n}" for a, n in plan["calls"].items())
        lines.append(f"| {r['shape']} | {MODE_NAMES[r['mode']]} | {r['validate']['wall']:.2f} "
                     f"| {plan['wall']:.2f} ({plan['fastest']:.2f} - {plan['slowest']:.2f}) "
                     f"| {plan['whole']:.2f} | {plan['peak_mib']:.0f} | {calls} |")
    lines += ["", "Calls by action (default mode):", ""]
    for r in results:
        if r["mode"] != "default":
            continue
        for work in ("apply", "weight", "destroy"):
            calls = ", ".join(f"{a} {n}" for a, n in r[work]["calls"].items())
            lines.append(f"- {r['shape']} {work}: {calls}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", action="append", type=Shape.parse,
                        help="CLBSxLISTENERSxRULESxBACKENDS (repeat); default 1x2x5x4, 4x2x5x4")
    parser.add_argument("--task", type=float, default=0.2, help="seconds per CLB task")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds added per call")
    parser.add_argument("--modes", default="default,p1,global")
    parser.add_argument("--dir", type=Path, default=None, help="where the worlds go")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures")
    for hidden in ("--phase", "--stack", "--out"):  # a child's: one phase of one shape
        parser.add_argument(hidden, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        figures = run_phase(args.phase, Path(args.stack), args.modes, task=args.task,
                            latency=args.latency)
        Path(args.out).write_text(json.dumps(figures))
        return
    shapes = args.shape or [Shape.parse("1x2x5x4"), Shape.parse("4x2x5x4")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            raise SystemExit(f"error: mode {mode!r}: expected one of {', '.join(MODES)}")
    base = args.dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Command: python bench/scale.py {' '.join(sys.argv[1:])}")
    print(f"Served emulator: {args.task:g} s tasks, {args.latency:g} s latency per call")
    results: list[dict[str, Any]] = []
    by_shape: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for shape in shapes:
        for mode in modes:
            result = run_shape(shape, mode, task=args.task, latency=args.latency, base=base)
            results.append(result)
            by_shape[str(shape)].append(result)
            a = result["apply"]
            print(f"  {shape} {MODE_NAMES[mode]}: apply {a['wall']:.2f} s "
                  f"(bound {a['bound']:.2f} s, {a['ratio']:.2f}x)", file=sys.stderr)
    print()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
