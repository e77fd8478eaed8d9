"""The local file store through the StateStore interface: holder, force-unlock (refused for a
live holder), history (the file and its backup), push, pull and rollback."""

from __future__ import annotations

import pytest

from mtlsform.errors import StateError, StateLockedError
from mtlsform.state.backends import BackendSettings, open_store
from mtlsform.state.local import LocalStateStore
from mtlsform.state.model import OutputValue, State
from mtlsform.state.rollback import rollback
from mtlsform.state.statefile import decode_state


def state_with(value: str, base: State | None = None) -> State:
    return (base or State.empty("demo")).with_outputs({"v": OutputValue(value)})


def test_open_store_picks_the_local_file_and_refuses_a_pg_without_its_variable(tmp_path):
    path = tmp_path / "demo.state.json"
    store = open_store(BackendSettings(), stack="demo", local_path=path, environ={})
    assert isinstance(store, LocalStateStore) and store.location == str(path)
    with pytest.raises(StateError, match="MY_PG is not set"):
        open_store(BackendSettings(kind="pg", conn_str_env="MY_PG"), stack="demo",
                   local_path=path, environ={})


def test_holder_and_force_unlock_of_a_live_local_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("CI_JOB_ID", "99")
    path = tmp_path / "demo.state.json"
    with LocalStateStore(path, operation="apply") as held:
        info = held.lock_info
        assert info is not None and info.ci_job == "CI_JOB_ID=99"
        other = LocalStateStore(path)
        assert other.holder() == info
        with pytest.raises(StateLockedError, match="CI job CI_JOB_ID=99"):
            other.__enter__()
        with pytest.raises(StateError, match="a live process") as refused:
            other.force_unlock(info.id)
        assert f"stop pid {info.pid}" in (refused.value.hint or "")
    assert LocalStateStore(path).holder() is None


def test_history_push_pull_and_rollback(tmp_path):
    path = tmp_path / "demo.state.json"
    with LocalStateStore(path) as store:
        one = store.write(state_with("one"))
    with LocalStateStore(path) as store:
        two = store.write(state_with("two", one))
    assert [(e.serial, e.current) for e in store.history()] == [(2, True), (1, False)]
    pulled = store.pull()
    assert pulled == path.read_bytes()

    with LocalStateStore(path) as store:
        with pytest.raises(StateError, match="not newer"):
            store.push(pulled)
        done = rollback(store, 1)
    assert (done.serial, done.pushed.before, done.pushed.after) == (1, 2, 3)
    back = decode_state(path.read_bytes(), source="t").state
    assert (back.serial, back.outputs["v"].value, back.lineage) == (3, "one", two.lineage)

    other = tmp_path / "other.state.json"
    with LocalStateStore(other) as store:
        store.write(state_with("x"))
        with pytest.raises(StateError, match="lineage"):
            store.push(path.read_bytes())
        assert store.push(path.read_bytes(), force=True).after == 3
    assert other.read_bytes() == path.read_bytes()
