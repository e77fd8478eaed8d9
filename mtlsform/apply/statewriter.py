"""The one owner of the state during apply: serialises updates and saves after each of them.

Before each cloud call an intent (pending operation) is saved; it is cleared in the same write
that records the result, so a process killed mid-call leaves the intent behind for the next run.

Saves are group commits: an update changes the state in memory at once and returns when a save
that holds it is on disk. One thread saves at a time, always the latest state; updates made
while a save runs wait for the next one, which takes them all. So every update is durable
when it returns, as with one save each, but concurrent operations share saves instead of
queueing for one each. A failed save raises in every update it held.

A result (`record`, `remove`) does not wait for its save: it is in memory at once (what later
operations read) and on disk with the next save, which every later intent makes, and at the
latest with `flush` at the end of the apply. Until then its intent is on disk, so a process
killed in between leaves exactly what a kill during the call leaves: the intent, which the next
run resolves by reading the cloud. Only intents must be on disk before the call they announce.

Each update says what it changed (`journal.Change`s: an intent begun or ended, a record put or
dropped, the outputs), and a save hands the store the changes it holds: a store with a
journal (`JournalSink`) appends them, so a save writes the size of its changes, not of the
state. The whole state is written (a compaction) at the first save, after an update that
says nothing of its changes (`update` with a bare function), after a failed save, every
`compact_every` journal entries or `compact_seconds` seconds, and at the end (`compact`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from mtlsform.addresses import Address
from mtlsform.errors import outcome_unknown
from mtlsform.state.journal import Begin, Change, Drop, End, Put, SetOutputs
from mtlsform.state.model import OutputValue, PendingOperation, ResourceState, State

COMPACT_EVERY = 1000  # journal entries between compactions
COMPACT_SECONDS = 60.0


class StateSink(Protocol):
    """Where the writer puts each new state: a store's conditional write."""

    def write(self, state: State) -> State: ...


@runtime_checkable
class JournalSink(Protocol):
    """A store with a journal: `append` saves `state` as the last state saved plus `changes`."""

    def write(self, state: State) -> State: ...
    def append(self, state: State, changes: Sequence[Change]) -> State: ...


class StateWriter:
    def __init__(self, store: StateSink, state: State, *, compact_every: int = COMPACT_EVERY,
                 compact_seconds: float = COMPACT_SECONDS) -> None:
        self._store = store
        self._journal = store if isinstance(store, JournalSink) else None
        self.compact_every = compact_every
        self.compact_seconds = compact_seconds
        self._changes: list[Change] = []  # made since the last save began
        self._whole = True  # the next save writes the whole state
        self._entries = 0  # journal entries since the last whole write
        self._compacted_at = time.monotonic()
        self._lock = threading.Lock()  # the state in memory and the counters
        self._saved = threading.Condition(self._lock)
        self.state = state
        self.writes = 0
        self._version = 0  # updates made in memory
        self._durable = 0  # updates on disk
        self._saving = False
        self._failures: list[tuple[int, int, BaseException]] = []  # (after, upto, error)
        self._unsaved = False  # the last save failed: the file lags behind

    def update(self, change: Callable[[State], State], *, wait: bool = True,
               changes: Sequence[Change] | None = None) -> State:
        """Applies `change` to the state; returns once the result is saved (`wait`), or at
        once, leaving it for the next save. `changes` say what it changes, for the journal
        (without them the next save writes the whole state)."""
        with self._lock:
            new = change(self.state)
            if new is self.state:
                return self.state
            self.state = new
            if changes is None:
                self._whole = True
            else:
                self._changes.extend(changes)
            self._version += 1
            mine = self._version
            if not wait:
                return self.state
            return self._until_saved(mine)

    def flush(self) -> State:
        """Saves what is not on disk yet (results that did not wait, or what a failed save
        held); raises if that fails."""
        with self._lock:
            if self._durable >= self._version and not self._unsaved:
                return self.state
            self._version += 1  # one more save, of the latest state
            return self._until_saved(self._version)

    def compact(self) -> State:
        """Writes the whole state (the snapshot; the journal starts over) if the journal
        holds entries or something is not on disk yet; raises if that fails."""
        with self._lock:
            if self._durable >= self._version and not self._unsaved and not self._entries:
                return self.state
            self._whole = True
            self._version += 1
            return self._until_saved(self._version)

    def _until_saved(self, mine: int) -> State:
        """Waits (lock held) until update number `mine` is on disk; raises its save's error."""
        while self._durable < mine:
            if self._saving:
                self._saved.wait()
                continue
            self._save_latest()
        for after, upto, error in self._failures:
            if after < mine <= upto:
                raise error
        return self.state

    def _save_latest(self) -> None:
        """Saves the latest state (called and returning with the lock held)."""
        self._saving = True
        snapshot, version, after = self.state, self._version, self._durable
        changes, self._changes = self._changes, []
        whole = (self._whole or self._journal is None or self._unsaved
                 or self._entries >= self.compact_every
                 or time.monotonic() - self._compacted_at >= self.compact_seconds)
        self._whole = False
        self._lock.release()
        failure: BaseException | None = None
        try:
            if whole or self._journal is None:
                written = self._store.write(snapshot)
            else:
                written = self._journal.append(snapshot, changes)
        except BaseException as exc:  # every update this save held gets it
            failure = exc
        finally:
            self._lock.acquire()
        self._unsaved = failure is not None
        if failure is None:
            self.writes += 1
            if whole:
                self._entries = 0
                self._compacted_at = time.monotonic()
            else:
                self._entries += 1
            if self.state is snapshot:
                self.state = written
            else:  # changed meanwhile: keep the changes, take the serial the save gave
                self.state = replace(self.state, serial=written.serial,
                                     tool_version=written.tool_version)
        else:
            self._failures.append((after, version, failure))
        self._durable = version
        self._saving = False
        self._saved.notify_all()

    @staticmethod
    def put(state: State, address: Address, attributes: Mapping[str, Any],
            dependencies: tuple[Address, ...] | None) -> State:
        return state.with_resource(StateWriter.record_of(state, address, attributes,
                                                         dependencies))

    @staticmethod
    def record_of(state: State, address: Address, attributes: Mapping[str, Any],
                  dependencies: tuple[Address, ...] | None) -> ResourceState:
        """The record `put` would make (None `dependencies`: the recorded ones, if any)."""
        existing = state.get(address)
        if dependencies is None:
            dependencies = tuple(existing.dependencies) if existing is not None else ()
        return ResourceState(
            address=address,
            attributes=dict(attributes),
            dependencies=tuple(sorted(dependencies)),
        )

    @contextmanager
    def intent(self, op_id: str, address: Address, action: str) -> Iterator[None]:
        """Records the intent before a cloud call. A failure whose outcome is known clears it;
        one that may have done its work all the same (no answer of the API came back) leaves
        it for the next run to look for, as a process killed mid-call does."""
        op = PendingOperation(op_id=op_id, address=address, action=action,
                              started_at=datetime.now(UTC).isoformat(timespec="seconds"))
        self.update(lambda s: s.with_pending(op), changes=[Begin(op)])
        try:
            yield
        except BaseException as failure:
            if not outcome_unknown(failure):
                self.update(lambda s: s.without_pending(op_id), changes=[End(op_id)])
            raise

    def record(self, op_id: str, address: Address, attributes: Mapping[str, Any],
               dependencies: tuple[Address, ...]) -> None:
        record = ResourceState(address=address, attributes=dict(attributes),
                               dependencies=tuple(sorted(dependencies)))
        self.update(lambda s: s.with_resource(record).without_pending(op_id), wait=False,
                    changes=[Put(record), End(op_id)])

    def remove(self, op_id: str, address: Address, deposed: str | None,
               along: Sequence[Address] = ()) -> None:
        """Drops the record (and the current records of `along`: what its delete took with
        it), clearing the intent, in one update."""
        keys = [(address, deposed), *((a, None) for a in along)]
        self.update(lambda s: s.without_resources(keys).without_pending(op_id), wait=False,
                    changes=[*(Drop(a, d) for a, d in keys), End(op_id)])

    def depose(self, address: Address) -> str | None:
        """Keeps the current object of `address` aside (create-before-destroy); returns its key."""
        key = secrets.token_hex(4)
        with self._lock:  # what is read here is what the update moves (updates are serial)
            record = self.state.get(address)
        if record is None:
            return None
        old = ResourceState(address=address, attributes=dict(record.attributes),
                            dependencies=tuple(record.dependencies), deposed=key)
        self.update(lambda s: s.without_resource(address).with_resource(old),
                    changes=[Drop(address, None), Put(old)])
        return key

    def set_outputs(self, values: Mapping[str, OutputValue]) -> None:
        outputs = dict(values)
        with self._lock:
            if dict(self.state.outputs) == outputs:
                return
        self.update(lambda s: s.with_outputs(outputs), changes=[SetOutputs(outputs)])
