"""The state journal under kill -9 and at two stack sizes, through real applies on the
embedded emulator.

- Killed during a compaction (the whole state written, then the journal started over): while
  the snapshot is half written, after it is in place but before the journal starts over, and
  while the journal's new header is half written; at the first save of the run and at the
  last. The next apply converges with nothing duplicated or orphaned (every_call.py's checks).
- Counts: the journal bytes per operation do not grow with the stack, and the state bytes an
  apply writes are linear in it (a fixed number of snapshots, not one per save).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mtlsform.files import write_temporary
from mtlsform.sensitive import Sensitive
from mtlsform.session import open_session
from mtlsform.stack import load_stack
from mtlsform.state import journal as journal_module
from mtlsform.state import local as local_module
from tests.engine.every_call import CRASH_EXIT, SCENARIOS, Bench, Result
from tests.engine.stacks import fleet_stack, write


def _die() -> None:
    os._exit(CRASH_EXIT)


def _kill_point(point: str, nth: int) -> Callable[[], None]:
    """Installs (in the child) a kill -9 at the `nth` compaction's `point`."""
    seen = {"snapshot": 0, "journal": 0}
    real_state_write = local_module.atomic_write
    real_journal_write = journal_module.write_atomic
    real_compact = journal_module.LocalJournal.compact

    def state_write(path: Path, data: bytes) -> None:
        if path.name.endswith(".state.json"):
            seen["snapshot"] += 1
            if point == "snapshot-half-written" and seen["snapshot"] == nth:
                write_temporary(path, data[:len(data) // 2])
                _die()
        real_state_write(path, data)

    def compact(self: Any, lineage: str, serial: int) -> None:
        seen["journal"] += 1
        if point == "before-the-journal-starts-over" and seen["journal"] == nth:
            _die()
        real_compact(self, lineage, serial)

    def journal_write(path: Path, data: bytes, mode: int = 0o600) -> None:
        if point == "journal-header-half-written" and seen["journal"] == nth:
            write_temporary(path, data[:5], mode)
            _die()
        real_journal_write(path, data, mode)

    def install() -> None:
        local_module.atomic_write = state_write  # type: ignore[assignment]
        journal_module.LocalJournal.compact = compact  # type: ignore[method-assign]
        journal_module.write_atomic = journal_write  # type: ignore[assignment]

    return install


def _run_killed(workdir: Path, args: tuple[str, ...], install: Callable[[], None]) -> Result:
    """`mtlsform ARGS` in a forked child that dies where `install` says (a real death)."""
    out, err = workdir / "child.out", workdir / "child.err"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            for fd, path in ((1, out), (2, err)):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(target, fd)
                os.close(target)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            install()
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


POINTS = ("snapshot-half-written", "before-the-journal-starts-over",
          "journal-header-half-written")


def test_an_apply_killed_during_a_compaction_converges(workdir, cli, monkeypatch) -> None:
    create = next(s for s in SCENARIOS if s.name == "create")
    bench = Bench(create, workdir, cli, monkeypatch)
    bench.prepare()
    tried = []
    for point in POINTS:
        for nth in (1, 2):  # the run's first save, and its last (the compaction at the end)
            bench.restore()
            killed = _run_killed(workdir, bench.change_args(), _kill_point(point, nth))
            where = f"killed at compaction {nth}, {point}"
            assert killed.code == CRASH_EXIT, f"{where}: not killed: {killed.text[-1500:]}"
            problems = bench.converge()
            assert not problems, f"{where}: " + "; ".join(problems)
            tried.append(where)
    assert len(tried) == 6


def _apply_counting(path: Path) -> dict[str, int]:
    stack, diagnostics = load_stack(path, environ=os.environ)
    assert stack is not None, [d.format() for d in diagnostics]
    with open_session(stack, operation="apply") as session:
        plan = session.plan()
        store: Any = session.store
        journal_before = store.journal.bytes_appended
        snapshots_before, bytes_before = store.snapshots, store.snapshot_bytes
        result, _ = session.apply(plan, p12_password=Sensitive("unused"))
        assert result.ok, result.failed
        figures = {"operations": len(result.succeeded),
                   "journal": store.journal.bytes_appended - journal_before,
                   "snapshots": store.snapshots - snapshots_before,
                   "snapshot_bytes": store.snapshot_bytes - bytes_before,
                   "state": len(store.path.read_bytes())}
        assert not session.plan().has_changes
    return figures


def test_journal_bytes_per_operation_stay_flat_and_state_bytes_linear(clean: Path) -> None:
    small = _apply_counting(write(clean, "small.yaml", fleet_stack(1, 1, 2, 2, name="small")))
    large = _apply_counting(write(clean, "large.yaml", fleet_stack(1, 2, 6, 2, name="large")))
    assert large["operations"] > 2.5 * small["operations"]
    assert large["state"] > 2.5 * small["state"]
    # the journal: what each operation writes does not grow with the state
    per_small = small["journal"] / small["operations"]
    per_large = large["journal"] / large["operations"]
    assert 0.8 < per_large / per_small < 1.25, (small, large)
    # the whole state is written twice per apply (its first save and the end), not per save
    assert small["snapshots"] == large["snapshots"] == 2
    for figures in (small, large):
        assert figures["snapshot_bytes"] < 2 * figures["state"]
        written = figures["journal"] + figures["snapshot_bytes"]
        assert written < 3 * figures["state"] + 1000 * figures["operations"]
