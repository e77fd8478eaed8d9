"""The intent saved before a cloud call: cleared when the call failed with a known outcome,
kept (for the next run to look for the object) when no answer of the API came back."""

from __future__ import annotations

import threading

import pytest

from mtlsform.addresses import Address
from mtlsform.apply.statewriter import StateWriter
from mtlsform.errors import MtlsformError, ProviderError
from mtlsform.state.model import State

ADDRESS = Address("load_balancer", "web")


class Sink:
    def __init__(self) -> None:
        self.written: list[State] = []

    def write(self, state: State) -> State:
        self.written.append(state)
        return state


# name: (the failure of the call, whether its intent is left for the next run)
FAILURES: dict[str, tuple[BaseException, bool]] = {
    "the API refused it": (ProviderError("no", code="InvalidParameter"), False),
    "the API failed inside": (ProviderError("oops", code="InternalError"), False),
    "not the API answered": (ProviderError("html", code="NotTheApi", outcome_unknown=True), True),
    "the network failed": (ProviderError("reset", code="ClientNetworkError",
                                         outcome_unknown=True), True),
    "a task never ended": (ProviderError("slow", code="TaskTimeout", outcome_unknown=True), True),
    "a bug of ours": (MtlsformError("internal"), False),
    "an interrupt": (KeyboardInterrupt(), False),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_an_intent_outlives_only_a_call_of_unknown_outcome(name: str) -> None:
    failure, kept = FAILURES[name]
    sink = Sink()
    writer = StateWriter(sink, State.empty("example"))
    with pytest.raises(type(failure)), writer.intent("op-1", ADDRESS, "create"):
        assert [p.op_id for p in writer.state.pending_operations] == ["op-1"]
        raise failure
    left = [p.op_id for p in writer.state.pending_operations]
    assert left == (["op-1"] if kept else [])
    assert sink.written[-1] == writer.state  # what is left is what was saved


def test_a_successful_call_clears_its_intent_with_its_record() -> None:
    sink = Sink()
    writer = StateWriter(sink, State.empty("example"))
    with writer.intent("op-1", ADDRESS, "create"):
        pass
    writer.record("op-1", ADDRESS, {"id": "lb-1"}, ())
    assert not writer.state.pending_operations
    assert writer.state.get(ADDRESS) is not None


class SlowSink(Sink):
    """Holds its first save until `release` is set, so that other updates arrive meanwhile."""

    def __init__(self, arrivals: int) -> None:
        super().__init__()
        self.release = threading.Event()
        self.arrivals = arrivals
        self.fail_next = False

    def write(self, state: State) -> State:
        if not self.written:
            assert self.release.wait(10), "the other updates never came"
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        return super().write(state)


def _records(state: State) -> set[str]:
    return {str(r.address) for r in state.resources}


def test_updates_made_during_a_save_share_the_next_one_and_each_is_durable() -> None:
    sink = SlowSink(arrivals=8)
    writer = StateWriter(sink, State.empty("example"))
    seen: dict[int, set[str]] = {}

    def put(n: int) -> None:
        address = Address("load_balancer", f"lb{n}")
        writer.update(lambda s: writer.put(s, address, {"id": f"lb-{n}"}, ()))
        seen[n] = _records(sink.written[-1])  # on disk when the update returned

    first = threading.Thread(target=put, args=(0,))
    first.start()
    while not writer._saving:  # the first save is under way
        threading.Event().wait(0.001)
    others = [threading.Thread(target=put, args=(n,)) for n in range(1, 8)]
    for thread in others:
        thread.start()
    while writer._version < 8:
        threading.Event().wait(0.001)
    sink.release.set()
    for thread in [first, *others]:
        thread.join()
    assert len(sink.written) == 2  # the first save, then one for the seven that waited
    assert writer.writes == 2
    assert all(f"load_balancer.lb{n}" in seen[n] for n in range(8))
    assert _records(writer.state) == {f"load_balancer.lb{n}" for n in range(8)}


def test_a_failed_save_raises_in_the_update_it_held() -> None:
    sink = SlowSink(arrivals=1)
    sink.release.set()
    writer = StateWriter(sink, State.empty("example"))
    sink.fail_next = True
    with pytest.raises(OSError, match="disk full"), writer.intent("op-1", ADDRESS, "create"):
        pass  # the intent's save failed: the call it announces is never made
    writer.record("op-2", Address("load_balancer", "b"), {"id": "lb-b"}, ())
    assert sink.written == []  # a result does not wait for its save...
    writer.flush()  # ...the end of the apply saves it, and what the failed save held
    assert _records(sink.written[-1]) == {"load_balancer.b"}
    assert [p.op_id for p in sink.written[-1].pending_operations] == ["op-1"]


def test_a_result_is_saved_by_the_next_intent_or_the_flush() -> None:
    sink = Sink()
    writer = StateWriter(sink, State.empty("example"))
    with writer.intent("op-1", ADDRESS, "create"):
        pass
    writer.record("op-1", ADDRESS, {"id": "lb-1"}, ())
    assert [p.op_id for p in sink.written[-1].pending_operations] == ["op-1"]  # not yet
    with writer.intent("op-2", Address("load_balancer", "b"), "create"):
        pass
    on_disk = sink.written[-1]
    assert _records(on_disk) == {"load_balancer.web"}  # the intent's save took the result
    assert [p.op_id for p in on_disk.pending_operations] == ["op-2"]
    assert len(sink.written) == 2
    writer.flush()
    assert len(sink.written) == 2  # nothing left to save
