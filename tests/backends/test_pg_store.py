"""The PostgreSQL state store against a real server: the lock and its holder, serial-checked
writes, history, the versioned schema, and a holder killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import psycopg
import pytest

from mtlsform.errors import StateError, StateLockedError
from mtlsform.sensitive import Sensitive
from mtlsform.state.model import OutputValue, State
from mtlsform.state.pg import PgStateStore
from mtlsform.state.statefile import decode_state
from mtlsform.state.store import StateStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def store(postgres, schema: str, **options) -> PgStateStore:
    return PgStateStore(Sensitive(postgres.conn_str), stack="demo", schema=schema, **options)


def assert_is_store(candidate: StateStore) -> None:
    """mypy checks the protocol; here every member it names is there."""
    for name in ("read", "write", "history", "pull", "push", "holder", "force_unlock"):
        assert callable(getattr(candidate, name))


def with_output(state: State, value: str) -> State:
    return state.with_outputs({"v": OutputValue(value)})


def test_it_is_a_state_store_and_round_trips_a_state(postgres, pg_schema):
    pg = store(postgres, pg_schema, operation="apply")
    assert_is_store(pg)
    with pg:
        assert pg.read() is None
        first = pg.write(with_output(State.empty("demo"), "one"))
        second = pg.write(with_output(first, "two"))
        assert (first.serial, second.serial) == (1, 2)
        assert pg.write(second).serial == 2  # no change: no write, serial kept
    with store(postgres, pg_schema) as again:
        read = again.read()
    assert read is not None and read.lineage == first.lineage and read.serial == 2
    assert read.outputs["v"].value == "two"
    assert [e.serial for e in pg.history()] == [2, 1]
    assert decode_state(pg.history_document(1), source="h").state.outputs["v"].value == "one"


def test_secrets_are_sealed_with_the_passphrase(postgres, pg_schema):
    with store(postgres, pg_schema, passphrase="correct horse") as pg:
        pg.write(State.empty("demo").with_outputs(
            {"k": OutputValue(Sensitive("TOPSECRET"), sensitive=True)}))
    document = pg.pull()
    assert document is not None and b"TOPSECRET" not in document
    with store(postgres, pg_schema, passphrase="correct horse") as pg:
        read = pg.read()
    assert read is not None and read.outputs["k"].value == Sensitive("TOPSECRET")


def test_a_second_store_is_refused_naming_every_holder_field(postgres, pg_schema, monkeypatch):
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    with store(postgres, pg_schema, operation="apply") as held:
        info = held.lock_info
        assert info is not None and info.ci_job == "GITHUB_RUN_ID=4242"
        with pytest.raises(StateLockedError) as refused:
            store(postgres, pg_schema, operation="plan").__enter__()
        message = str(refused.value)
        for field in (info.who, f"pid {os.getpid()}", "'apply'", info.created,
                      "CI job GITHUB_RUN_ID=4242", info.id):
            assert field in message
        assert store(postgres, pg_schema).holder() == info
    assert store(postgres, pg_schema).holder() is None
    with store(postgres, pg_schema):  # released: free at once
        pass


def test_lock_timeout_waits_for_the_holder(postgres, pg_schema):
    waits: list[str] = []
    held = store(postgres, pg_schema, operation="apply")
    held.__enter__()
    waiting = threading.Event()

    def release_once_waited() -> None:  # the holder lets go only once the waiter waits
        waiting.wait(120)
        held.__exit__(None, None, None)

    timer = threading.Thread(target=release_once_waited)
    timer.start()
    try:
        with store(postgres, pg_schema, lock_timeout=120,
                   on_wait=lambda text: (waits.append(text), waiting.set())) as waiter:
            assert waiter.lock_info is not None
    finally:
        timer.join()
    assert len(waits) == 1 and "'apply'" in waits[0]


def test_a_writer_that_bypassed_the_lock_is_refused_on_the_serial(postgres, pg_schema):
    with store(postgres, pg_schema) as pg:
        base = pg.write(with_output(State.empty("demo"), "one"))
        # Another writer, that never took the lock, updates the row behind our back.
        with psycopg.connect(postgres.conn_str, autocommit=True) as other:
            other.execute(f"UPDATE {pg_schema}.states SET serial = serial + 1")
        with pytest.raises(StateError, match="changed since this run read it"):
            pg.write(with_output(base, "two"))
    with psycopg.connect(postgres.conn_str) as conn:
        serials = [r[0] for r in conn.execute(f"SELECT serial FROM {pg_schema}.history")]
    assert serials == [1]  # the refused write left nothing, not even history


def test_two_first_writes_cannot_both_win(postgres, pg_schema):
    a, b = store(postgres, pg_schema), store(postgres, pg_schema)
    with a:
        assert a.read() is None
        a._release()  # let a second run in, as a run that bypassed the lock would be
        with b:
            b.write(with_output(State.empty("demo"), "b"))
        with pytest.raises(StateError, match="changed since this run read it"):
            a.write(with_output(State.empty("demo"), "a"))


def test_the_schema_is_versioned_and_a_newer_one_refused(postgres, pg_schema):
    with store(postgres, pg_schema):
        pass
    with psycopg.connect(postgres.conn_str, autocommit=True) as conn:
        assert conn.execute(f"SELECT value FROM {pg_schema}.meta").fetchone() == (1,)
        conn.execute(f"UPDATE {pg_schema}.meta SET value = 99")
    with pytest.raises(StateError, match="version 99"):
        store(postgres, pg_schema).__enter__()


HOLDER = textwrap.dedent("""
    import sys, time
    from mtlsform.sensitive import Sensitive
    from mtlsform.state.pg import PgStateStore
    store = PgStateStore(Sensitive(sys.argv[1]), stack=sys.argv[3], schema=sys.argv[2],
                         operation="apply")
    with store:
        print(store.lock_info.id, flush=True)
        time.sleep(600)
""")


def hold_lock(postgres, schema: str, stack: str = "demo") -> tuple[subprocess.Popen[str], str]:
    """A process that holds the lock until killed, and its lock ID."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, postgres.conn_str, schema, stack],
                               stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    with process.stdout:  # it prints once: closed here, never left to the collector
        lock_id = process.stdout.readline().strip()
    return process, lock_id


def test_kill_9_of_the_holder_releases_the_lock_at_once(postgres, pg_schema):
    process, lock_id = hold_lock(postgres, pg_schema)
    try:
        with pytest.raises(StateLockedError, match=lock_id):
            store(postgres, pg_schema).__enter__()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with store(postgres, pg_schema) as pg:  # no wait, no force-unlock needed
        assert pg.lock_info is not None and pg.lock_info.id != lock_id


def test_force_unlock_ends_a_hung_holder_after_naming_it(postgres, pg_schema):
    process, lock_id = hold_lock(postgres, pg_schema)
    try:
        with pytest.raises(StateError, match="not with lock ID"):
            store(postgres, pg_schema).force_unlock("wrong")
        holder = store(postgres, pg_schema).force_unlock(lock_id)
        assert holder.id == lock_id and holder.operation == "apply"
        with store(postgres, pg_schema) as pg:
            assert pg.lock_info is not None
    finally:
        process.kill()
        process.wait()


def test_a_connection_error_never_shows_the_connection_string():
    for conn_str in ("not a conninfo password=hunter2", "postgres://u:hunter2@127.0.0.1:1/db"):
        with pytest.raises(StateError) as failed:
            PgStateStore(Sensitive(conn_str), stack="demo").__enter__()
        assert "hunter2" not in str(failed.value) + str(failed.value.hint)
        assert "cannot connect to the PostgreSQL state backend" in str(failed.value)
