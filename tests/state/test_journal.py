"""The state journal: saves appended beside the snapshot, replayed on read, compacted; a torn
last line is ignored, damage is named; bytes per save do not grow with the state."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mtlsform.addresses import Address
from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state import LocalStateStore, PendingOperation, ResourceState, State, read_state
from mtlsform.state.journal import Begin, Drop, End, Put, journal_path
from tests.state.samples import key_body, sample_state

OP = "f" * 32


def record(n: int) -> ResourceState:
    return ResourceState(f'target.https["www.example.com/"].rs-{n}',
                         {"id": f"rs-{n}", "port": 80, "weight": 10})


def grown(size: int) -> State:
    state = sample_state()
    for n in range(size):
        state = state.with_resource(record(n))
    return state


def one_operation(store: LocalStateStore, state: State, n: int) -> State:
    """What the writer saves for one create: the intent, then the result."""
    op = PendingOperation(OP, record(n).address, "create", "2026-01-01T00:00:00Z")
    state = store.append(state.with_pending(op), [Begin(op)])
    done = state.with_resource(record(n)).without_pending(OP)
    return store.append(done, [Put(record(n)), End(OP)])


def test_saves_go_to_the_journal_and_a_read_replays_them(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    with LocalStateStore(path) as store:
        state = store.write(sample_state())  # the first save: the whole file
        snapshot = path.read_bytes()
        for n in range(3):
            state = one_operation(store, state, n)
        gone = state.without_resource("load_balancer.web")
        state = store.append(gone, [Drop(Address.parse("load_balancer.web"), None)])
        assert path.read_bytes() == snapshot  # the file was not rewritten
    assert stat.S_IMODE(journal_path(path).stat().st_mode) == 0o600
    again = read_state(path)
    assert again is not None and again.same_content(state) and again.serial == state.serial
    assert again.serial == 1 + 7  # one per save
    with LocalStateStore(path) as store:  # a run that compacts: the file holds it all
        assert store.read() == again
        assert store.write(again).serial == again.serial
    assert json.loads(path.read_text())["serial"] == again.serial
    assert journal_path(path).read_text().count("\n") == 1  # only the header is left
    assert read_state(path) == again


def test_bytes_per_save_do_not_grow_with_the_state(tmp_path: Path) -> None:
    per_operation = []
    for size in (10, 200):
        path = tmp_path / f"{size}.state.json"
        with LocalStateStore(path) as store:
            state = store.write(grown(size))
            before = store.journal.bytes_appended
            one_operation(store, state, 9999)
            per_operation.append(store.journal.bytes_appended - before)
            assert store.snapshots == 1
    assert per_operation[0] == per_operation[1]
    assert per_operation[0] < 600


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    with LocalStateStore(path) as store:
        state = store.write(sample_state())
        state = one_operation(store, state, 1)
        whole = journal_path(path).read_bytes()
        later = store.append(state.without_resource(record(1).address),
                             [Drop(record(1).address, None)])
    entry = journal_path(path).read_bytes()[len(whole):]
    for cut in (1, len(entry) // 2, len(entry) - 1):  # killed while writing the line
        journal_path(path).write_bytes(whole + entry[:cut])
        assert read_state(path) == state
    journal_path(path).write_bytes(whole + entry)
    assert read_state(path) == later
    # the next run starts from what is there and writes on
    journal_path(path).write_bytes(whole + entry[:7])
    with LocalStateStore(path) as store:
        assert store.read() == state
        final = one_operation(store, store.write(state), 2)
    assert read_state(path) == final


def test_a_journal_left_by_a_compaction_that_died_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    with LocalStateStore(path) as store:
        state = one_operation(store, store.write(sample_state()), 1)
    stale = journal_path(path).read_bytes()
    with LocalStateStore(path) as store:
        compacted = store.write(store.read().with_resource(record(2)))  # type: ignore[union-attr]
    journal_path(path).write_bytes(stale)  # died after the snapshot, before starting over
    assert read_state(path) == compacted
    assert compacted.get(record(1).address) is not None and state.serial < compacted.serial


@pytest.mark.parametrize("damage, expected", [
    (lambda lines: [lines[0], b"{not json", *lines[2:]], "line 2: not a line of JSON"),
    (lambda lines: [lines[0], *lines[2:]], "line 2: its serial should be 2, found 3"),
    (lambda lines: [lines[0].replace(b'"after": 1', b'"after": 7'), *lines[1:]],
     "line 1: it follows serial 7, but the state file is at serial 1"),
    (lambda lines: [lines[0].replace(b"5f0c2a8e", b"00000000"), *lines[1:]],
     "line 1: it belongs to lineage"),
], ids=["garbage-line", "missing-line", "newer-base", "other-lineage"])
def test_damage_in_the_journal_is_named_with_its_line(tmp_path: Path, damage, expected) -> None:
    path = tmp_path / "s.state.json"
    with LocalStateStore(path) as store:
        one_operation(store, store.write(sample_state()), 1)
    lines = journal_path(path).read_bytes().split(b"\n")[:-1]
    journal_path(path).write_bytes(b"\n".join(damage(lines)) + b"\n")
    def locked_read() -> State | None:
        with LocalStateStore(path) as store:
            return store.read()

    for read in (lambda: read_state(path), locked_read):
        with pytest.raises(StateError) as caught:
            read()
        assert f"state journal {journal_path(path)} is damaged: {expected}" in str(caught.value)
        assert "s.state.json.backup" in (caught.value.hint or "")


def test_secrets_in_the_journal_are_sealed_like_the_file(tmp_path: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n" \
          "-----END PRIVATE KEY-----\n"
    path = tmp_path / "s.state.json"
    passphrase = Sensitive("correct horse battery staple")
    with LocalStateStore(path, passphrase=passphrase) as store:
        state = store.write(sample_state())
        secret = ResourceState("certificate.client", {"private_key_pem": Sensitive(pem)})
        state = store.append(state.with_resource(secret), [Put(secret)])
    text = journal_path(path).read_text()
    assert "ciphertext" in text and not any(line in text for line in key_body(pem))
    again = read_state(path, passphrase)
    assert again is not None
    assert again.get("certificate.client").attributes["private_key_pem"].reveal() == pem
    assert os.stat(journal_path(path)).st_mode & 0o077 == 0
