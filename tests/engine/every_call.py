"""The changes the kill and fault suites interrupt at every mutating call, and the bench that
runs one: the starting stack applied once and snapshotted, the change run (killed or failed at
call N) from that snapshot, the next run, and the check that the world is exactly the stack's.

A change's mutating calls are counted by the emulator itself (`MTLSFORM_EMULATOR_CALL_LOG`,
one line per call that landed), in an uninterrupted run from the same snapshot. A kill is a
real process death: the CLI runs in a forked child of the test process (no interpreter start,
no import cost) and the emulator ends it with `os._exit`, as `MTLSFORM_EMULATOR_CRASH_AFTER`
does for `mtlsform apply` in a shell; nothing of the run's `finally` blocks runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import environment
from tests.engine.conftest import Result, edit

CRASH_EXIT = 137  # mtlsform.emulator.dispatch.CRASH_EXIT_CODE
# A saved plan made this far ahead finds the 365-day certificates (renew_before_days 30) due.
RENEWAL_AHEAD = timedelta(days=340)

TASK_DELAY = "0.01"  # seconds an emulated task runs (the embedded default: 0.2)

Edit = tuple[str, str]

# The server certificate gains a DNS name: a new certificate, a new upload, the listener moved
# to it in place, then the old upload deleted.
ROTATE_SNI_OFF: Edit = ('dns_names: ["${var.domain}"]',
                        'dns_names: ["${var.domain}", "api.example.com"]')
ROTATE_SNI_ON: Edit = ("    subject: {common_name: api.example.com}\n",
                       "    subject: {common_name: api.example.com}\n"
                       "    dns_names: [api.example.com, api2.example.com]\n")
UPDATE_IN_PLACE: tuple[Edit, ...] = (
    ("rs-1: {instance: ins-rs1, port: 80, weight: 10}",
     "rs-1: {instance: ins-rs1, port: 80, weight: 20}"),
    ("health_check: {path: /healthz, interval: 5,", "health_check: {path: /healthz, interval: 10,"),
    ("name: example-clb ", "name: example-web "),
)
# A new CA verifies the clients; the client certificate is issued again by it.
NEW_CLIENT_CA: tuple[Edit, ...] = (
    ("certificates:\n", "certificates:\n  clients-ca:\n    type: ca\n"
                        "    subject: {common_name: Example Clients CA}\n    key: ecdsa-p256\n"),
    ("issuer: ca\n    subject: {common_name: client-1}",
     "issuer: clients-ca\n    subject: {common_name: client-1}"),
    ("client_ca: ca}", "client_ca: clients-ca}"),
)


@dataclass(frozen=True)
class Scenario:
    """A change: `stack` (under stacks/) applied first unless `from_empty`, then `edits` made
    to it and `command` run; `renewal`: the change is a saved plan made RENEWAL_AHEAD later."""

    name: str
    stack: str
    edits: tuple[Edit, ...] = ()
    command: str = "apply"  # "apply" | "destroy"
    from_empty: bool = False
    renewal: bool = False


# Scenarios that fail today, with why (each an xfail(strict=True) until fixed).
KNOWN_FAILURES: dict[str, str] = {}

SCENARIOS = (
    Scenario("create", "example.yaml", from_empty=True),
    Scenario("update-in-place", "example.yaml", UPDATE_IN_PLACE),
    Scenario("rotation-sni-off", "example.yaml", (ROTATE_SNI_OFF,)),
    Scenario("rotation-sni-on", "sni.yaml", (ROTATE_SNI_ON,)),
    Scenario("renewal", "example.yaml", renewal=True),
    Scenario("client-ca-change", "example.yaml", NEW_CLIENT_CA),
    Scenario("destroy", "example.yaml", command="destroy"),
)


def scenario_params() -> list[Any]:
    return [pytest.param(s, id=s.name, marks=[pytest.mark.xfail(
                reason=KNOWN_FAILURES[s.name], strict=True)] if s.name in KNOWN_FAILURES else [])
            for s in SCENARIOS]


@dataclass
class Figures:
    """What one scenario's loop found, for the summary line."""

    scenario: str
    calls: list[str]
    tried: int = 0
    converged: int = 0
    absent: int = 0  # points past the calls of a run that merged target writes
    failures: list[str] = field(default_factory=list)

    def line(self, what: str) -> str:
        return (f"{self.scenario}: {len(self.calls)} mutating calls ({', '.join(self.calls)}); "
                f"{what}: {self.converged}/{self.tried} converged, "
                f"{len(self.failures)} not, {self.absent} absent in their run")


class Bench:
    """One scenario in a test's working directory (the `workdir` fixture)."""

    def __init__(self, scenario: Scenario, workdir: Path, cli: Callable[..., Result],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.cli = cli
        self.monkeypatch = monkeypatch
        self.stack = Path("stacks") / scenario.stack
        self.saved_plan = workdir / "renewal.plan"
        self.snapshot = workdir / "snapshot"
        self.call_log = workdir / "calls.log"
        self.expected: Counter[str] = Counter()
        # The emulator finishes every task in flight before a simulated crash (and the next run
        # polls what is left), so how long a task takes changes no kill or fault point: short
        # tasks only take the waiting out of the hundreds of runs these suites make.
        monkeypatch.setenv(environment.TASK_DELAY, TASK_DELAY)

    # -- paths ---------------------------------------------------------------------------------

    @property
    def data(self) -> Path:
        return self.workdir / "stacks/.mtlsform"

    def _outputs(self) -> Path:
        return self.workdir / "stacks/out"

    # -- set-up --------------------------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Applies the starting stack, makes the change, snapshots; returns the change's
        mutating calls (an uninterrupted run), after checking that run converged."""
        if not self.scenario.from_empty:
            started = self.cli("apply", self.stack, "--auto-approve")
            assert started.code == 0, started.text
        for old, new in self.scenario.edits:
            edit(self.workdir / self.stack, old, new)
        if self.scenario.renewal:
            self._save_renewal_plan()
        self._take_snapshot()
        self.monkeypatch.setenv(environment.CALL_LOG, str(self.call_log))
        done = self.cli(*self.change_args())
        self.monkeypatch.delenv(environment.CALL_LOG)
        assert done.code == 0, done.text
        calls = self.logged_calls()
        assert calls, "the change makes no mutating call"
        self.expected = Counter(r["address"] for r in self.state()["resources"])
        assert not self.findings(), self.findings()
        return calls

    def _save_renewal_plan(self) -> None:
        """The plan `apply` would make RENEWAL_AHEAD from now, saved as a plan file."""
        at = (datetime.now(UTC) + RENEWAL_AHEAD).strftime("%Y-%m-%dT%H:%M:%SZ")
        planned = self.cli("plan", self.stack, "--at", at, "--out", self.saved_plan, "--json")
        assert planned.code == 0, planned.text
        assert any(c["action_reason"] == "replace_because_expiring"
                   for c in json.loads(planned.out)["resource_changes"]), "nothing is due"

    def _take_snapshot(self) -> None:
        for source in (self.data, self._outputs()):
            if source.exists():
                shutil.copytree(source, self.snapshot / source.name)

    def restore(self) -> None:
        """The world, state and exported files as they were before the change."""
        for target in (self.data, self._outputs()):
            shutil.rmtree(target, ignore_errors=True)
            kept = self.snapshot / target.name
            if kept.exists():
                shutil.copytree(kept, target)
        self.call_log.unlink(missing_ok=True)

    # -- the commands --------------------------------------------------------------------------

    def change_args(self) -> tuple[str, ...]:
        if self.scenario.renewal:
            return ("apply", str(self.saved_plan), "--auto-approve")
        return (self.scenario.command, str(self.stack), "--auto-approve")

    def next_run_args(self) -> tuple[str, ...]:
        return (self.scenario.command, str(self.stack), "--auto-approve")

    def check_args(self) -> tuple[str, ...]:
        destroy = ("--destroy",) if self.scenario.command == "destroy" else ()
        return ("plan", str(self.stack), "--detailed-exitcode", *destroy)

    def run_killed(self, env: Mapping[str, str]) -> Result:
        """The change in a forked child with `env` added, to its end or its death."""
        return run_in_child(self.workdir, self.change_args(), {**env,
                            environment.CALL_LOG: str(self.call_log)})

    def run_failing(self, env: Mapping[str, str]) -> Result:
        """The change in this process with `env` (an injected fault) added."""
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.monkeypatch.setenv(environment.CALL_LOG, str(self.call_log))
        try:
            return self.cli(*self.change_args())
        finally:
            for name in (*env, environment.CALL_LOG):
                self.monkeypatch.delenv(name)

    def logged_calls(self) -> list[str]:
        if not self.call_log.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.call_log.read_text().splitlines()]

    def converge(self) -> list[str]:
        """Runs the change's command plainly, then a plan: what is wrong, if anything."""
        again = self.cli(*self.next_run_args())
        if again.code != 0:
            return [f"the next run failed ({again.code}): {again.text[-1500:]}"]
        planned = self.cli(*self.check_args())
        if planned.code != 0:
            return [f"the plan after it is not empty ({planned.code}): {planned.text[-1500:]}"]
        return self.findings()

    # -- what the world and the state hold -----------------------------------------------------

    def state(self) -> dict[str, Any]:
        files = sorted(self.data.glob("*.state.json"))
        assert len(files) == 1, files
        loaded: dict[str, Any] = json.loads(files[0].read_text())
        return loaded

    def world(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(
            (self.data / "emulator/world.json").read_text())["world"]
        return loaded

    def findings(self) -> list[str]:
        """Everything that differs from 'the world is exactly what the state records, the
        state records exactly what the stack describes, nothing pending, nothing deposed'."""
        state, world = self.state(), self.world()
        problems = []
        records = state["resources"]
        if state["pending_operations"]:
            problems.append(f"pending operations left: {state['pending_operations']}")
        deposed = [r["address"] for r in records if r.get("deposed")]
        if deposed:
            problems.append(f"deposed records left: {deposed}")
        addresses = Counter(r["address"] for r in records)
        if addresses != self.expected:
            problems.append(f"the state records {sorted(addresses.elements())}, the stack "
                            f"describes {sorted(self.expected.elements())}")
        problems += _compare_cloud(records, world)
        return problems


def _ids(records: list[dict[str, Any]], rtype: str) -> Counter[str]:
    return Counter(str(r["attributes"]["id"]) for r in records if r["type"] == rtype)


def _compare_cloud(records: list[dict[str, Any]], world: dict[str, Any]) -> list[str]:
    """The cloud's objects against the state's: load balancers, listeners, rules, targets,
    and the SSL uploads against both the state and what the listeners use."""
    problems = []
    lbs = world["load_balancers"]
    cloud: dict[str, Counter[str]] = {
        "load_balancer": Counter(list(lbs)), "listener": Counter(), "rule": Counter(),
        "ssl_certificate": Counter(list(world["certificates"])), "target": Counter()}
    used: set[str] = set()
    for lb in lbs.values():
        for listener_id, listener in lb["listeners"].items():
            cloud["listener"][listener_id] += 1
            used.update(_cert_ids(listener.get("certificate")))
            for rule_id, rule in listener["rules"].items():
                cloud["rule"][rule_id] += 1
                used.update(_cert_ids(rule.get("certificate")))
                for target in rule["targets"]:
                    cloud["target"][f"{rule_id}/{target['instance_id']}:{target['port']}"] += 1
    recorded_targets = Counter(
        f"{r['attributes']['rule_id']}/{r['attributes']['instance_id']}:{r['attributes']['port']}"
        for r in records if r["type"] == "target")
    for rtype, found in cloud.items():
        recorded = recorded_targets if rtype == "target" else _ids(records, rtype)
        if found != recorded:
            problems.append(f"{rtype}: the cloud holds {sorted(found.elements())}, the state "
                            f"records {sorted(recorded.elements())}")
    orphans = sorted(set(world["certificates"]) - used)
    if orphans:
        problems.append(f"SSL uploads no listener uses (orphans): {orphans}")
    missing = sorted(used - set(world["certificates"]))
    if missing:
        problems.append(f"listeners use uploads the SSL service does not hold: {missing}")
    return problems


def _cert_ids(certificate: Mapping[str, Any] | None) -> Iterator[str]:
    if not certificate:
        return
    for name in ("cert_id", "cert_ca_id"):
        if certificate.get(name):
            yield str(certificate[name])
    yield from (str(i) for i in certificate.get("ext_cert_ids") or ())


def run_in_child(workdir: Path, args: tuple[str, ...], env: Mapping[str, str]) -> Result:
    """`mtlsform ARGS` in a forked child of this process (its own exit code and output files)."""
    out, err = workdir / "child.out", workdir / "child.err"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.environ.update(env)
            for fd, path in ((1, out), (2, err)):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(target, fd)
                os.close(target)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            from mtlsform.cli.main import run

            code = run(list(args))
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return Result(os.waitstatus_to_exitcode(status), out.read_text(), err.read_text())
