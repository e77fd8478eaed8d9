"""Local state storage: serial, lineage, backup, modes, atomic writes, pending operations."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest

from mtlsform.errors import StateError
from mtlsform.state import (
    LocalStateStore,
    PendingOperation,
    ResourceState,
    State,
    backup_path,
    default_state_path,
    read_state,
)
from tests.state.samples import sample_state, start_child


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def save(path: Path, state: State) -> State:
    with LocalStateStore(path) as store:
        return store.write(state)


def test_default_state_path_is_beside_the_stack_file(tmp_path):
    assert default_state_path(tmp_path / "stacks" / "example.yaml", "example") == (
        tmp_path / "stacks" / ".mtlsform" / "example.state.json")
    with pytest.raises(ValueError):
        default_state_path(tmp_path / "s.yaml", "../evil")


def test_no_file_reads_as_none(state_path):
    assert read_state(state_path) is None
    with LocalStateStore(state_path) as store:
        assert store.read() is None


def test_write_then_read_in_this_and_a_later_run(state_path):
    with LocalStateStore(state_path, operation="apply") as store:
        written = store.write(sample_state())
        assert written.serial == 1
        assert store.read() == written
    again = read_state(state_path)
    assert again == written
    with LocalStateStore(state_path) as store:
        assert store.read() == written


def test_serial_rises_on_change_and_never_on_a_no_op(state_path):
    with LocalStateStore(state_path) as store:
        one = store.write(sample_state())
        data = state_path.read_bytes()
        inode = state_path.stat().st_ino
        assert store.write(one).serial == 1
        assert store.write(sample_state()).serial == 1  # rebuilt, equal content
        assert state_path.read_bytes() == data and state_path.stat().st_ino == inode
        two = store.write(one.with_resource(ResourceState("load_balancer.web", {"id": "x"})))
        assert two.serial == 2
    with LocalStateStore(state_path) as store:  # a later run that changes nothing
        assert store.write(store.read()).serial == 2
    assert json.loads(state_path.read_bytes())["serial"] == 2
    assert not backup_path(state_path).exists()  # no run changed a state that existed before


def test_lineage_is_fixed_and_a_foreign_state_is_refused(state_path):
    first = save(state_path, State.empty("example"))
    with LocalStateStore(state_path) as store:
        assert store.read().lineage == first.lineage
        with pytest.raises(StateError, match="refusing to write a state of lineage"):
            store.write(State.empty("example"))
    assert read_state(state_path).lineage == first.lineage


def test_files_are_private_from_creation(state_path):
    old_umask = os.umask(0)  # nothing masked: only the modes the code asks for count
    try:
        save(state_path, sample_state())
        save(state_path, sample_state().with_outputs({}))  # makes a backup
    finally:
        os.umask(old_umask)
    assert mode(state_path.parent) == 0o700
    assert mode(state_path) == 0o600
    assert mode(backup_path(state_path)) == 0o600
    assert mode(state_path.with_name(state_path.name + ".lock")) == 0o600


def test_backup_holds_the_state_from_before_the_run(state_path):
    v1 = save(state_path, sample_state())
    assert not backup_path(state_path).exists()  # nothing existed before the first run
    v1_bytes = state_path.read_bytes()
    with LocalStateStore(state_path) as store:
        v2 = store.write(v1.with_outputs({}))
        v3 = store.write(v2.with_resource(ResourceState("load_balancer.web", {"id": "lb-3"})))
        assert backup_path(state_path).read_bytes() == v1_bytes  # still the start of the run
    v3_bytes = state_path.read_bytes()
    with LocalStateStore(state_path) as store:
        store.write(v3)  # no change: the backup stays as it was
    assert backup_path(state_path).read_bytes() == v1_bytes
    with LocalStateStore(state_path) as store:
        store.write(v3.without_resource("load_balancer.web"))
    assert backup_path(state_path).read_bytes() == v3_bytes
    assert read_state(backup_path(state_path)).serial == 3


def test_pending_operations_are_persisted_until_cleared(state_path):
    op = PendingOperation.begin('target.https["a/"].rs-1', "create", {"instance": "ins-1"})
    with LocalStateStore(state_path) as store:
        state = store.write(State.empty("example"))
        state = store.write(state.with_pending(op))
        # what a crash right now would leave on disk
        assert read_state(state_path).pending_operations == (op,)
        state = store.write(state.without_pending(op.op_id).with_resource(
            ResourceState(op.address, {"id": "rs-1"})))
    final = read_state(state_path)
    assert final.pending_operations == () and final.get(op.address) is not None
    assert final.serial == 3


CRASH_AT_REPLACE = """
    import stat
    from mtlsform.state import LocalStateStore, ResourceState
    path = Path(sys.argv[1])
    os.umask(0)  # nothing masked: a file created with default permissions would show it
    def audit(event, args):
        if event == "os.chmod":
            print("chmod", flush=True)  # mode fixed after creation: a window of exposure
        if event == "os.rename":
            print("temp-mode", oct(stat.S_IMODE(os.stat(args[0]).st_mode)), flush=True)
            if str(args[1]) == str(path):
                print("dying-before-replace", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
    sys.addaudithook(audit)
    with LocalStateStore(path) as store:
        state = store.read()
        store.write(state.with_resource(ResourceState("load_balancer.new", {"id": "lb-new"})))
    print("not reached", flush=True)
"""


def test_a_crash_between_temp_write_and_replace_leaves_the_old_file(state_path):
    save(state_path, sample_state())
    before = state_path.read_bytes()
    child = start_child(CRASH_AT_REPLACE, str(state_path), stdin=False)
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    # backup and state temp files were both created 0600, then the process died
    assert out.splitlines() == ["temp-mode 0o600", "temp-mode 0o600", "dying-before-replace"]
    assert state_path.read_bytes() == before
    leftovers = list(state_path.parent.glob(".*.tmp"))
    assert len(leftovers) == 1 and b"lb-new" in leftovers[0].read_bytes()  # was fully written
    with LocalStateStore(state_path) as store:  # the next run cleans up and reads the old
        assert store.read().get("load_balancer.new") is None
    assert list(state_path.parent.glob(".*.tmp")) == []


WRITE_PAST_FILE_SIZE_LIMIT = """
    import resource
    from mtlsform.errors import StateError
    from mtlsform.state import LocalStateStore, ResourceState
    path = Path(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so an oversized write fails with EFBIG
    limit = path.stat().st_size + 100
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    with LocalStateStore(path) as store:
        state = store.read()
        try:
            store.write(state.with_resource(
                ResourceState("load_balancer.big", {"blob": "x" * 2 * limit})))
        except StateError as exc:
            print(exc.message, "|", exc.hint, flush=True)
"""


def test_a_failed_write_raises_state_error_and_keeps_the_old_file(state_path):
    save(state_path, sample_state())
    before = state_path.read_bytes()
    child = start_child(WRITE_PAST_FILE_SIZE_LIMIT, str(state_path), stdin=False)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.strip() == (f"cannot write state file {state_path}: File too large | "
                           "the previous state file is unchanged")
    assert state_path.read_bytes() == before
    assert list(state_path.parent.glob(".*.tmp")) == []  # the partial temp file was removed


def test_store_must_be_entered(state_path):
    store = LocalStateStore(state_path)
    with pytest.raises(RuntimeError, match="context manager"):
        store.read()


def test_corrupt_file_error_points_at_the_backup(state_path):
    save(state_path, sample_state())
    save(state_path, sample_state().with_outputs({}))
    state_path.write_text('{"format_version": 1, "lineage": ')
    with pytest.raises(StateError) as info:
        read_state(state_path)
    assert info.value.message.startswith(f"state file {state_path} is not valid JSON")
    assert str(backup_path(state_path)) in info.value.hint
    with pytest.raises(StateError), LocalStateStore(state_path) as store:
        store.read()
