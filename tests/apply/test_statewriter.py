"""The intent saved before a cloud call: cleared when the call failed with a known outcome,
kept (for the next run to look for the object) when no answer of the API came back."""

from __future__ import annotations

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
