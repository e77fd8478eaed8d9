"""A change whose Nth mutating call fails once (InternalError, not retried) stops with one
clear message, and the next run converges: it succeeds, a plan after it is empty, and the
cloud holds exactly what the stack describes, with no orphaned SSL upload (see every_call.py)."""

from __future__ import annotations

import pytest

from mtlsform.emulator import environment
from tests.engine.every_call import Bench, Figures, Scenario, scenario_params


@pytest.mark.parametrize("scenario", scenario_params())
def test_a_change_failing_at_any_mutating_call_converges_on_the_next_run(
        scenario: Scenario, workdir, cli, monkeypatch, record_property):
    bench = Bench(scenario, workdir, cli, monkeypatch)
    calls = bench.prepare()
    figures = Figures(scenario.name, calls)
    for n in range(1, len(calls) + 1):
        bench.restore()
        failed = bench.run_failing({environment.FAIL_CALL: str(n)})
        where = f"call {n} ({calls[n - 1]}) failed"
        if failed.code == 0 and len(bench.logged_calls()) < n:
            figures.absent += 1  # merged target writes: this run made fewer calls
            continue
        assert failed.code == 1, f"{where}: the run did not fail: {failed.text[-1500:]}"
        assert "InternalError" in failed.err and "Traceback" not in failed.text, failed.text
        figures.tried += 1
        problems = bench.converge()
        if problems:
            figures.failures.append(f"{where}: " + "; ".join(problems))
        else:
            figures.converged += 1
    summary = figures.line(f"{figures.tried} fault points")
    record_property("figures", summary)
    print(summary)
    assert not figures.failures, "\n".join(figures.failures)
