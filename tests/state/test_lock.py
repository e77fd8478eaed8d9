"""The state lock between real processes: holder details, kernel release, waiting."""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from mtlsform.errors import StateLockedError
from mtlsform.state import LocalStateStore, State
from tests.state.samples import start_child

HOLD_LOCK = """
    from mtlsform.state import LocalStateStore
    with LocalStateStore(Path(sys.argv[1]), operation="apply") as store:
        print("locked", store.lock_info.id, flush=True)
        sys.stdin.readline()  # hold the lock until told to go (or killed)
    print("released", flush=True)
"""


@pytest.fixture
def holder(state_path):
    """A child process holding the lock on `state_path`; yields (process, lock id)."""
    state_path.parent.mkdir(mode=0o700, exist_ok=True)
    child = start_child(HOLD_LOCK, str(state_path))
    line = child.stdout.readline().split()
    assert line[:1] == ["locked"], child.stderr.read()
    yield child, line[1]
    if child.poll() is None:
        child.kill()
    child.wait(timeout=30)
    for stream in (child.stdin, child.stdout, child.stderr):
        stream.close()


def test_a_second_process_is_refused_with_the_holder_named(state_path, holder):
    child, lock_id = holder
    with pytest.raises(StateLockedError) as info, LocalStateStore(state_path):
        pass
    message = info.value.message
    details = json.loads(state_path.with_name(state_path.name + ".lock").read_text())
    assert details["pid"] == child.pid and details["id"] == lock_id
    assert message == (f"state file {state_path} is locked by {details['who']} "
                       f"(pid {child.pid}) for 'apply' since {details['created']} "
                       f"(lock ID {lock_id})")
    assert "@" in details["who"]
    assert "--lock-timeout" in info.value.hint


def test_the_kernel_releases_the_lock_of_a_killed_holder(state_path, holder):
    child, _ = holder
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with LocalStateStore(state_path, operation="plan") as store:
        assert store.lock_info.pid == os.getpid()
        store.write(State.empty("example"))


def test_lock_timeout_waits_for_the_holder_to_finish(state_path, holder):
    child, _ = holder
    waiting = threading.Event()
    seen: list[str] = []
    outcome: list[object] = []

    def on_wait(who: str) -> None:
        seen.append(who)
        waiting.set()

    def take_lock() -> None:
        try:
            with LocalStateStore(state_path, lock_timeout=60, on_wait=on_wait) as store:
                outcome.append(store.lock_info.pid)
        except Exception as exc:
            outcome.append(exc)

    taker = threading.Thread(target=take_lock)
    taker.start()
    assert waiting.wait(30)  # the taker found the lock held and is waiting
    child.stdin.write("go\n")  # the holder finishes its run
    child.stdin.flush()
    taker.join(60)
    assert outcome == [os.getpid()]
    assert len(seen) == 1 and f"(pid {child.pid})" in seen[0]
    assert child.stdout.readline().strip() == "released"


def test_lock_timeout_gives_up_when_the_holder_stays(state_path, holder):
    child, _ = holder
    seen: list[str] = []
    with pytest.raises(StateLockedError, match=f"pid {child.pid}"), \
            LocalStateStore(state_path, lock_timeout=0.2, on_wait=seen.append):
        pass
    assert len(seen) == 1


def test_two_stores_in_one_process_exclude_each_other(state_path):
    with LocalStateStore(state_path, operation="apply") as first:
        with pytest.raises(StateLockedError, match=f"pid {os.getpid()}"):
            LocalStateStore(state_path).__enter__()
        first.write(State.empty("example"))  # still ours after the failed attempt
    with LocalStateStore(state_path):  # released on exit
        pass


def test_the_lock_file_describes_no_one_when_free(state_path):
    with LocalStateStore(state_path, operation="apply"):
        lock_file = state_path.with_name(state_path.name + ".lock")
        assert json.loads(lock_file.read_text())["operation"] == "apply"
    assert lock_file.read_text() == ""
