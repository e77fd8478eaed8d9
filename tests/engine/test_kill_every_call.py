"""A change killed at any of its mutating calls, the call landed or not, converges on the next
run: the next run succeeds, a plan after it is empty, and the cloud holds exactly what the
stack describes: no duplicated load balancer, listener, rule or target, no SSL upload that no
listener uses, every object recorded in the state (see every_call.py for the scenarios)."""

from __future__ import annotations

import pytest

from mtlsform.emulator import environment
from tests.engine.every_call import CRASH_EXIT, Bench, Figures, Scenario, scenario_params

# After the call: the Nth mutating call lands and its answer is lost. Before it: N calls land
# and the next one dies unserved (N = 0: the first).
VARIANTS = [pytest.param(False, id="after-the-call"), pytest.param(True, id="before-it")]


@pytest.mark.parametrize("before_apply", VARIANTS)
@pytest.mark.parametrize("scenario", scenario_params())
def test_a_change_killed_at_any_mutating_call_converges(
        scenario: Scenario, before_apply: bool, workdir, cli, monkeypatch, record_property):
    bench = Bench(scenario, workdir, cli, monkeypatch)
    calls = bench.prepare()
    figures = Figures(scenario.name, calls)
    for n in range(1, len(calls) + 1):
        bench.restore()
        crash_after = n - 1 if before_apply else n
        env = {environment.CRASH_AFTER: str(crash_after)}
        if before_apply:
            env[environment.CRASH_BEFORE_APPLY] = "1"
        killed = bench.run_killed(env)
        where = f"killed {'before' if before_apply else 'after'} call {n} ({calls[n - 1]})"
        if killed.code == 0 and len(bench.logged_calls()) < n:
            # Target writes of one rule are merged when they meet in time: this run made
            # fewer calls than the counted one, so call n did not exist in it.
            figures.absent += 1
            continue
        assert killed.code == CRASH_EXIT and "simulated crash" in killed.err, \
            f"{where}: the run was not killed ({killed.code}): {killed.text[-1500:]}"
        # calls in flight beside the Nth (parallel deletes) may land before the process dies
        assert len(bench.logged_calls()) >= crash_after, where
        figures.tried += 1
        problems = bench.converge()
        if problems:
            figures.failures.append(f"{where}: " + "; ".join(problems))
        else:
            figures.converged += 1
    summary = figures.line(f"{figures.tried} kill points "
                           f"{'before' if before_apply else 'after'} the call")
    record_property("figures", summary)
    print(summary)
    assert not figures.failures, "\n".join(figures.failures)
