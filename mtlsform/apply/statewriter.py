"""The one owner of the state during apply: serialises updates and saves after each of them.

Before each cloud call an intent (pending operation) is saved; it is cleared in the same write
that records the result, so a process killed mid-call leaves the intent behind for the next run.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from mtlsform.addresses import Address
from mtlsform.errors import outcome_unknown
from mtlsform.state.model import OutputValue, PendingOperation, ResourceState, State


class StateSink(Protocol):
    """Where the writer puts each new state: a store's conditional write."""

    def write(self, state: State) -> State: ...


class StateWriter:
    def __init__(self, store: StateSink, state: State) -> None:
        self._store = store
        self._lock = threading.RLock()
        self.state = state
        self.writes = 0

    def update(self, change: Callable[[State], State]) -> State:
        with self._lock:
            new = change(self.state)
            if new != self.state:
                self.state = self._store.write(new)
                self.writes += 1
            return self.state

    @staticmethod
    def put(state: State, address: Address, attributes: Mapping[str, Any],
            dependencies: tuple[Address, ...] | None) -> State:
        existing = state.get(address)
        if dependencies is None:
            dependencies = tuple(existing.dependencies) if existing is not None else ()
        return state.with_resource(ResourceState(
            address=address,
            attributes=dict(attributes),
            dependencies=tuple(sorted(dependencies)),
        ))

    @contextmanager
    def intent(self, op_id: str, address: Address, action: str) -> Iterator[None]:
        """Records the intent before a cloud call. A failure whose outcome is known clears it;
        one that may have done its work all the same (no answer of the API came back) leaves
        it for the next run to look for, as a process killed mid-call does."""
        op = PendingOperation(op_id=op_id, address=address, action=action,
                              started_at=datetime.now(UTC).isoformat(timespec="seconds"))
        self.update(lambda s: s.with_pending(op))
        try:
            yield
        except BaseException as failure:
            if not outcome_unknown(failure):
                self.update(lambda s: s.without_pending(op_id))
            raise

    def record(self, op_id: str, address: Address, attributes: Mapping[str, Any],
               dependencies: tuple[Address, ...]) -> None:
        self.update(lambda s: self.put(s, address, attributes, dependencies)
                    .without_pending(op_id))

    def remove(self, op_id: str, address: Address, deposed: str | None) -> None:
        self.update(lambda s: s.without_resource(address, deposed).without_pending(op_id))

    def depose(self, address: Address) -> str | None:
        """Keeps the current object of `address` aside (create-before-destroy); returns its key."""
        key = secrets.token_hex(4)

        def move(state: State) -> State:
            record = state.get(address)
            if record is None:
                return state
            old = ResourceState(address=address, attributes=dict(record.attributes),
                                dependencies=tuple(record.dependencies), deposed=key)
            return state.without_resource(address).with_resource(old)

        with self._lock:
            if self.state.get(address) is None:
                return None
            self.update(move)
            return key

    def set_outputs(self, values: Mapping[str, OutputValue]) -> None:
        self.update(lambda s: s.with_outputs(dict(values)))
