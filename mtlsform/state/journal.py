"""The journal: the changes made to a state since its last snapshot, appended, never rewritten.

During apply every save of the state writer is one entry (a line of JSON): the changes it
holds (`Begin`/`End` of an intent, `Put`/`Drop` of a record, `SetOutputs`) and the serial the
state has after them. So the bytes written per operation are those of the operation's own
records, whatever the size of the state. A compaction writes the whole state as the snapshot
and starts the journal over (`compact`); reading a state replays the journal over its snapshot
(`replay_entries`).

The interface a store implements (`Journal`: `append`, `replay`, `compact`) keeps no file
semantics, so a remote store can hold entries as rows or objects. `LocalJournal` is the file
beside the local state (`<state>.journal`, mode 0600): a header line naming the lineage and the
serial of the snapshot it follows, then one line per entry, each written with one `write` and
fsynced before `append` returns.

Crashes: a torn last line (the process died while writing it) is ignored, never fatal: its
save had not returned, so nothing relied on it. A journal whose header names an older serial
than the snapshot is left over from a compaction that wrote the snapshot and died before
starting the journal over: the snapshot already holds it, and it is ignored; so is a journal of
a header alone (started over, nothing since), whatever state file is put beside it (a git
checkout of another commit of a committed state, a `state restore`). Anything else
that does not fit (a bad line before the last, a gap in the serials, another lineage, a newer
snapshot missing) is damage, reported with the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mtlsform.addresses import Address
from mtlsform.errors import StateError
from mtlsform.files import write_atomic
from mtlsform.state.model import OutputValue, PendingOperation, ResourceState

JOURNAL_VERSION = 1


# ---- the changes (plain values) ----

@dataclass(frozen=True)
class Begin:
    """An intent recorded before a cloud call."""

    operation: PendingOperation


@dataclass(frozen=True)
class End:
    """The intent `op_id` cleared."""

    op_id: str


@dataclass(frozen=True)
class Put:
    """A record written (added or replaced; `resource.deposed` says which object)."""

    resource: ResourceState


@dataclass(frozen=True)
class Drop:
    """A record removed."""

    address: Address
    deposed: str | None


@dataclass(frozen=True)
class SetOutputs:
    """The outputs replaced."""

    outputs: dict[str, OutputValue]


Change = Begin | End | Put | Drop | SetOutputs


class ChangeEncoder(Protocol):
    """How a store writes the parts of a state (secrets sealed as in its snapshot)."""

    def resource_json(self, resource: ResourceState) -> dict[str, Any]: ...
    def outputs_json(self, outputs: dict[str, OutputValue]) -> dict[str, Any]: ...
    def pending_json(self, operation: PendingOperation) -> dict[str, Any]: ...


def encode_entry(serial: int, changes: Sequence[Change], encoder: ChangeEncoder) -> bytes:
    """One journal line: the changes of one save and the serial after them."""
    items: list[list[Any]] = []
    for change in changes:
        if isinstance(change, Begin):
            items.append(["begin", encoder.pending_json(change.operation)])
        elif isinstance(change, End):
            items.append(["end", change.op_id])
        elif isinstance(change, Put):
            items.append(["put", encoder.resource_json(change.resource)])
        elif isinstance(change, Drop):
            items.append(["drop", str(change.address), change.deposed])
        else:
            items.append(["outputs", encoder.outputs_json(change.outputs)])
    line = json.dumps({"changes": items, "serial": serial}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return (line + "\n").encode("utf-8")


def replay_entries(document: dict[str, Any], entries: Sequence[dict[str, Any]],
                   fail: Callable[[int, str], StateError]) -> dict[str, Any]:
    """`document` (a state file's JSON, current format) with `entries` applied in order.
    `fail(index, problem)` makes the error for an entry that does not fit."""
    if not entries:
        return document
    resources: dict[tuple[Any, Any], Any] = {}
    for item in document.get("resources") or []:
        key = (item.get("address"), item.get("deposed")) if isinstance(item, dict) else id(item)
        resources[key if isinstance(key, tuple) else (key, None)] = item
    pending = {p.get("op_id") if isinstance(p, dict) else id(p): p
               for p in document.get("pending_operations") or []}
    outputs = document.get("outputs")
    serial = document.get("serial")
    for index, entry in enumerate(entries):
        if not isinstance(serial, int):
            raise fail(index, "the state file has no serial to follow")
        if entry.get("serial") != serial + 1:
            raise fail(index, f"its serial should be {serial + 1}, found "
                              f"{entry.get('serial')!r}")
        serial = entry["serial"]
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise fail(index, "expected a list of changes")
        for change in changes:
            kind = change[0] if isinstance(change, list) and change else None
            if kind == "begin" and len(change) == 2 and isinstance(change[1], dict):
                pending[change[1].get("op_id")] = change[1]
            elif kind == "end" and len(change) == 2:
                pending.pop(change[1], None)
            elif kind == "put" and len(change) == 2 and isinstance(change[1], dict):
                item = change[1]
                resources[(item.get("address"), item.get("deposed"))] = item
            elif kind == "drop" and len(change) == 3:
                resources.pop((change[1], change[2]), None)
            elif kind == "outputs" and len(change) == 2 and isinstance(change[1], dict):
                outputs = change[1]
            else:
                raise fail(index, f"a change it holds is not one mtlsform writes: "
                                  f"{json.dumps(change)[:80]}")
    document = dict(document)
    document["resources"] = [resources[k] for k in sorted(resources, key=_file_key)]
    document["pending_operations"] = [pending[k] for k in sorted(pending, key=str)]
    document["outputs"] = outputs
    document["serial"] = serial
    return document


def _file_key(key: tuple[Any, Any]) -> tuple[str, str]:
    return (str(key[0]), str(key[1] or ""))


def whole_document(document: dict[str, Any]) -> bytes:
    """A replayed document as the bytes of one whole state file."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def replay_hook(journal: Journal, collected: list[bytes] | None = None
                ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """For decoding: the stored document with `journal`'s entries applied (and, into
    `collected`, the result as whole-file bytes when there were entries)."""
    def replay(document: dict[str, Any]) -> dict[str, Any]:
        lineage, serial = document.get("lineage"), document.get("serial")
        if not isinstance(lineage, str) or not isinstance(serial, int) \
                or isinstance(serial, bool) or serial < 0:
            return document  # the document itself is damaged: its checks say how
        entries = journal.replay(lineage, serial)
        document = replay_entries(document, entries, journal.damaged)
        if entries and collected is not None:
            collected.append(whole_document(document))
        return document

    return replay


# ---- where the entries are kept ----

class Journal(Protocol):
    """A store's journal: entries after its snapshot. Local file, rows or objects alike."""

    def damaged(self, entry: int, problem: str) -> StateError:
        """The error for entry number `entry` (0: the oldest replayed) that does not fit."""

    def append(self, entry: bytes) -> None:
        """Adds one entry; durable when this returns."""

    def replay(self, lineage: str, serial: int) -> list[dict[str, Any]]:
        """The entries to apply over the snapshot of `lineage` at `serial` (oldest first)."""

    def compact(self, lineage: str, serial: int) -> None:
        """Starts over after a snapshot of `lineage` at `serial` was written."""


def journal_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".journal")


class LocalJournal:
    """The journal file beside a local state (see the module docstring)."""

    def __init__(self, path: Path, *, hint: str | None = None) -> None:
        self.path = Path(path)
        self.hint = hint
        self.bytes_appended = 0  # by this object: what the tests count
        self._fd: int | None = None

    def _damaged(self, line: int, problem: str) -> StateError:
        return StateError(f"state journal {self.path} is damaged: line {line}: {problem}",
                          hint=self.hint)

    def damaged(self, entry: int, problem: str) -> StateError:
        return self._damaged(entry + 2, problem)  # line 1 is the header

    def replay(self, lineage: str, serial: int) -> list[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError(f"cannot read state journal {self.path}: {exc.strerror}") from None
        lines = data.split(b"\n")
        torn = lines.pop()  # after the last newline: empty, or a line cut short by a crash
        parsed: list[dict[str, Any]] = []
        for number, raw in enumerate(lines, start=1):
            try:
                value = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                raise self._damaged(number, "not a line of JSON") from None
            if not isinstance(value, dict):
                raise self._damaged(number, "expected an object")
            parsed.append(value)
        del torn  # never fatal: its save had not returned
        if not parsed:
            return []
        header = parsed[0]
        if not isinstance(header.get("journal"), int) or not isinstance(header.get("after"), int):
            raise self._damaged(1, "expected the journal's header")
        if header["journal"] > JOURNAL_VERSION:
            raise StateError(f"state journal {self.path} was written by a newer mtlsform "
                             f"(journal version {header['journal']})",
                             hint="upgrade mtlsform to read this state")
        if len(parsed) == 1:
            return []  # started over and nothing since: it holds nothing, whatever it follows
        if header.get("lineage") != lineage:
            raise self._damaged(1, f"it belongs to lineage {header.get('lineage')!r}, the "
                                   f"state is of lineage {lineage!r}")
        if header["after"] < serial:
            return []  # a compaction wrote the snapshot and died before starting over
        if header["after"] > serial:
            raise self._damaged(1, f"it follows serial {header['after']}, but the state file "
                                   f"is at serial {serial}")
        return parsed[1:]

    def append(self, entry: bytes) -> None:
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            written = os.write(self._fd, entry)
            if written != len(entry):  # a short write would leave a torn line in the middle
                raise OSError(0, f"wrote {written} of {len(entry)} bytes")
            os.fsync(self._fd)
        except OSError as exc:
            self.close()
            raise StateError(f"cannot write state journal {self.path}: {exc.strerror or exc}",
                             hint="the state file and the journal so far are unchanged") from None
        self.bytes_appended += len(entry)

    def compact(self, lineage: str, serial: int) -> None:
        self.close()
        header = json.dumps({"after": serial, "journal": JOURNAL_VERSION, "lineage": lineage},
                            sort_keys=True) + "\n"
        try:
            write_atomic(self.path, header.encode("utf-8"), 0o600)
        except OSError as exc:
            raise StateError(f"cannot write state journal {self.path}: {exc.strerror or exc}",
                             hint="the state file holds everything: the journal left "
                                  "behind is ignored") from None
        self.bytes_appended += len(header)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None
