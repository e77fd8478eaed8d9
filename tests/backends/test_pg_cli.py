"""The CLI with a `backend: {kind: pg}` stack against a real PostgreSQL: 8 concurrent applies,
a plan after apply, and the commands that move the state (push, pull, history, rollback,
force-unlock)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from tests.backends.test_pg_store import hold_lock

EXAMPLE = Path("stacks/example.yaml")
SMALL = """\
version: 1
stack: small
backend: {{kind: pg, schema_name: {schema}, conn_str_env: SMALL_PG}}
variables: {{n: "0"}}
certificates:
  ca:
    type: ca
    subject: {{common_name: Small CA}}
    key: ecdsa-p256
outputs:
  n: ${{var.n}}
"""


def with_pg_backend(path: Path, schema: str) -> None:
    text = path.read_text()
    path.write_text(text.replace("stack: example ",
                                 f"backend: {{kind: pg, schema_name: {schema}}}\n"
                                 "stack: example "))


def history(postgres, schema: str, stack: str) -> list[tuple[int, str]]:
    with psycopg.connect(postgres.conn_str) as conn:
        return [(int(serial), by) for serial, by in conn.execute(
            f"SELECT serial, written_by FROM {schema}.history WHERE stack = %s ORDER BY id",
            (stack,))]


def test_apply_then_plan_is_a_no_op_and_no_local_state_is_written(workdir, cli, postgres,
                                                                   pg_schema, monkeypatch):
    with_pg_backend(workdir / EXAMPLE, pg_schema)
    monkeypatch.delenv("PG_CONN_STR", raising=False)
    missing = cli("plan", EXAMPLE)
    assert missing.code == 1 and "PG_CONN_STR is not set" in missing.err
    assert "Traceback" not in missing.text
    monkeypatch.setenv("PG_CONN_STR", postgres.conn_str)
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert not (workdir / "stacks/.mtlsform/example.state.json").exists()
    listed = cli("state", "list", EXAMPLE)
    assert "listener.https" in listed.out
    pulled = subprocess.run([sys.executable, "-m", "mtlsform", "state", "pull", str(EXAMPLE)],
                            capture_output=True, cwd=workdir, env=os.environ, check=True)
    document = json.loads(pulled.stdout)
    serials = [serial for serial, _ in history(postgres, pg_schema, "example")]
    assert document["serial"] == serials[-1] and serials == sorted(set(serials))
    assert "PRIVATE KEY" in pulled.stdout.decode()  # no passphrase: the keys are in clear
    assert postgres.conn_str not in applied.text + planned.text


def small_stack(workdir: Path, schema: str) -> Path:
    path = workdir / "small.yaml"
    path.write_text(SMALL.format(schema=schema))
    return path


def apply_small(workdir: Path, stack: Path, env: dict[str, str], *extra: str
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mtlsform", "apply", str(stack),
                           "--auto-approve", *extra], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def test_eight_concurrent_applies_hold_the_lock_one_at_a_time(workdir, postgres, pg_schema):
    stack = small_stack(workdir, pg_schema)
    env = {**os.environ, "SMALL_PG": postgres.conn_str, "GITHUB_RUN_ID": "777"}
    first = apply_small(workdir, stack, env)
    assert first.returncode == 0, first.stderr
    before = history(postgres, pg_schema, "small")

    # A holder keeps the lock: all 8 fail at once (they end while it still holds the lock),
    # each naming it.
    holder, lock_id = hold_lock(postgres, pg_schema, stack="small")
    try:
        with ThreadPoolExecutor(8) as pool:
            refused = list(pool.map(lambda i: apply_small(workdir, stack, env, "--var",
                                                          f"n={i}"), range(8)))
        assert holder.poll() is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    for run in refused:
        assert run.returncode == 1, run.stderr
        assert f"lock ID {lock_id}" in run.stderr and "'apply'" in run.stderr
        assert "Traceback" not in run.stderr
    assert history(postgres, pg_schema, "small") == before  # none of them wrote

    # The holder was killed with -9: the lock is free at once. 8 applies that wait take it
    # one after another: each one's writes are contiguous, and serials only increase.
    with ThreadPoolExecutor(8) as pool:
        waited = list(pool.map(lambda i: apply_small(workdir, stack, env, "--var",
                                                     f"n={i + 1}", "--lock-timeout", "300"),
                               range(8)))
    for run in waited:
        assert run.returncode == 0, run.stderr
    writes = history(postgres, pg_schema, "small")[len(before):]
    serials = [serial for serial, _ in writes]
    assert serials == sorted(serials) and len(set(serials)) == len(serials) >= 8
    writers = [by for _, by in writes]
    runs = [by for i, by in enumerate(writers) if i == 0 or writers[i - 1] != by]
    assert len(runs) == len(set(runs)) == 8  # no run's writes interleave with another's
    assert all("pid" in by and "apply" in by for by in writers)


def test_push_pull_history_rollback_and_force_unlock(workdir, cli, postgres, pg_schema,
                                                      monkeypatch):
    monkeypatch.setenv("SMALL_PG", postgres.conn_str)
    local = workdir / "local.yaml"
    local.write_text("\n".join(line for line in SMALL.format(schema=pg_schema).splitlines()
                                if not line.startswith("backend:")) + "\n")
    assert cli("apply", local, "--auto-approve").code == 0
    local_file = workdir / ".mtlsform/small.state.json"
    stack = small_stack(workdir, pg_schema)

    # A local state beside an empty backend is not a new stack.
    refused = cli("plan", stack)
    assert refused.code == 1 and "state push" in refused.err

    pushed = cli("state", "push", stack, local_file)
    assert pushed.code == 0, pushed.text
    pulled = subprocess.run([sys.executable, "-m", "mtlsform", "state", "pull", str(stack)],
                            capture_output=True, cwd=workdir, env=os.environ, check=True)
    assert pulled.stdout == local_file.read_bytes()  # byte-identical
    assert cli("plan", stack, "--detailed-exitcode").code == 0

    again = cli("state", "push", stack, local_file)
    assert again.code == 1 and "not newer" in again.err and "--force" in again.err

    assert cli("apply", stack, "--auto-approve", "--var", "n=5").code == 0
    pushed_serial = json.loads(local_file.read_text())["serial"]
    shown = cli("state", "history", stack)
    assert shown.code == 0, shown.text
    assert f"* serial {pushed_serial + 1} " in shown.out
    assert f"  serial {pushed_serial} " in shown.out and "state push" in shown.out
    rolled = cli("state", "rollback", stack, str(pushed_serial))
    assert rolled.code == 0, rolled.text
    assert f"as serial {pushed_serial + 2}" in rolled.out
    back = json.loads(subprocess.run(
        [sys.executable, "-m", "mtlsform", "state", "pull", str(stack)], capture_output=True,
        cwd=workdir, env=os.environ, check=True).stdout)
    assert (back["serial"], back["outputs"]["n"]["value"]) == (pushed_serial + 2, "0")
    assert cli("plan", stack, "--detailed-exitcode").code == 0
    restored = cli("state", "restore", stack)  # a local backup: not this stack's state
    assert restored.code == 1 and "state rollback SERIAL" in restored.err

    holder, lock_id = hold_lock(postgres, pg_schema, stack="small")
    try:
        wrong = cli("force-unlock", "not-it", stack, "--force")
        assert wrong.code == 1 and f"lock ID {lock_id}" in wrong.out
        unlocked = cli("force-unlock", lock_id, stack, "--force")
        assert unlocked.code == 0, unlocked.text
        assert "locked by" in unlocked.out and "Unlocked" in unlocked.out
        assert cli("plan", stack).code == 0  # the lock is free
    finally:
        holder.kill()
        holder.wait()
