"""The COS state store against a real S3-compatible server (moto's, started by the fixture)
through the same boto3 client code as COS: the lock object and its holder, ETag-conditional
writes, object versions as history, a holder killed with -9, and the header COS documents."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from mtlsform.errors import StateError, StateLockedError
from mtlsform.session import with_environment
from mtlsform.state.backends import BackendSettings
from mtlsform.state.cos import CosStateStore, dialect_of
from mtlsform.state.model import OutputValue, State
from mtlsform.state.statefile import decode_state
from tests.backends.s3server import KEYS, REGION, credentials
from tests.backends.test_pg_store import assert_is_store, with_output

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def store(s3, bucket: str, **options) -> CosStateStore:
    return CosStateStore(bucket=bucket, stack="demo", region=REGION, endpoint=s3.endpoint,
                         credentials=credentials(), **options)


def versions(s3, bucket: str, key: str = "mtlsform/demo/default.state.json") -> list[str]:
    listed = s3.client().list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]


def test_it_is_a_state_store_and_keeps_each_write_as_an_object_version(s3):
    bucket = s3.bucket()
    cos = store(s3, bucket, operation="apply")
    assert_is_store(cos)
    with cos:
        assert cos.read() is None
        first = cos.write(with_output(State.empty("demo"), "one"))
        second = cos.write(with_output(first, "two"))
        assert (first.serial, second.serial) == (1, 2)
        assert cos.write(second).serial == 2  # no change: no write
    assert len(versions(s3, bucket)) == 2
    with store(s3, bucket) as again:
        read = again.read()
    assert read is not None and (read.lineage, read.serial) == (first.lineage, 2)
    history = cos.history()
    assert [(e.serial, e.current) for e in history] == [(2, True), (1, False)]
    assert all("apply" in e.written_by and e.lineage == first.lineage for e in history)
    assert decode_state(cos.history_document(1), source="h").state.outputs["v"].value == "one"
    assert cos.location == f"cos://{bucket}/mtlsform/demo/default.state.json"


def test_without_versioning_only_the_current_object_is_kept(s3):
    bucket = s3.bucket(versioned=False)
    with store(s3, bucket) as cos:
        first = cos.write(with_output(State.empty("demo"), "one"))
        cos.write(with_output(first, "two"))
    assert [(e.serial, e.current) for e in cos.history()] == [(2, True)]
    with pytest.raises(StateError, match="keeps no serial 1") as refused:
        cos.history_document(1)
    assert "versioning" in (refused.value.hint or "")


def test_a_second_store_is_refused_naming_every_holder_field(s3, monkeypatch):
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    bucket = s3.bucket()
    with store(s3, bucket, operation="apply") as held:
        info = held.lock_info
        assert info is not None and info.ci_job == "GITHUB_RUN_ID=4242"
        with pytest.raises(StateLockedError) as refused:
            store(s3, bucket, operation="plan").__enter__()
        message = str(refused.value)
        for field in (info.who, f"pid {os.getpid()}", "'apply'", info.created,
                      "CI job GITHUB_RUN_ID=4242", info.id):
            assert field in message
        assert store(s3, bucket).holder() == info
    assert store(s3, bucket).holder() is None  # the lock object is gone
    with store(s3, bucket):
        pass


def test_lock_timeout_waits_for_the_holder(s3):
    bucket = s3.bucket()
    waits: list[str] = []
    held = store(s3, bucket, operation="apply")
    held.__enter__()
    waiting = threading.Event()

    def release_once_waited() -> None:  # the holder lets go only once the waiter waits
        waiting.wait(120)
        held.__exit__(None, None, None)

    timer = threading.Thread(target=release_once_waited)
    timer.start()
    try:
        with store(s3, bucket, lock_timeout=120,
                   on_wait=lambda text: (waits.append(text), waiting.set())) as waiter:
            assert waiter.lock_info is not None
    finally:
        timer.join()
    assert len(waits) == 1 and "'apply'" in waits[0]


@pytest.mark.parametrize("dialect", ["s3", "cos"])
def test_a_writer_that_bypassed_the_lock_is_refused_on_the_etag(s3, dialect):
    bucket = s3.bucket()
    with store(s3, bucket, dialect=dialect) as cos:
        base = cos.write(with_output(State.empty("demo"), "one"))
        # Another writer, that never took the lock, replaces the object behind our back.
        other = re.sub(rb'"serial": *1\b', b'"serial": 7', cos.pull() or b"")
        assert other != cos.pull()
        s3.client().put_object(Bucket=bucket, Key="mtlsform/demo/default.state.json",
                               Body=other, Metadata={"serial": "7"})
        written = versions(s3, bucket)
        with pytest.raises(StateError, match="changed since this run read it") as refused:
            cos.write(with_output(base, "two"))
        assert "it now holds serial 7" in str(refused.value)
    assert versions(s3, bucket) == written  # the refused write stored nothing


def test_two_first_writes_cannot_both_win(s3):
    bucket = s3.bucket()
    a, b = store(s3, bucket), store(s3, bucket)
    with a:
        assert a.read() is None
        a._release()  # let a second run in, as a run that bypassed the lock would be
        with b:
            b.write(with_output(State.empty("demo"), "b"))
        with pytest.raises(StateError, match="changed since this run read it"):
            a.write(with_output(State.empty("demo"), "a"))


def test_the_lock_create_sends_the_header_of_the_endpoint(s3):
    """COS documents `x-cos-forbid-overwrite: true` for a create that must not replace an
    object; S3 (and this test server) implement `If-None-Match: *`. The COS path is checked
    here for the header it sends; against this server it is held by its HEAD check."""
    assert dialect_of(None) == dialect_of("https://cos.ap-guangzhou.myqcloud.com") == "cos"
    assert dialect_of(s3.endpoint) == dialect_of("https://minio.internal:9000") == "s3"
    sent: dict[str, dict[str, str]] = {}
    bucket = s3.bucket()
    for dialect in ("s3", "cos"):
        cos = store(s3, bucket, dialect=dialect)
        cos.client().meta.events.register(
            "before-send.s3.PutObject",
            lambda request, dialect=dialect, **_: sent.__setitem__(dialect, dict(
                request.headers)))
        with cos, pytest.raises(StateLockedError):
            store(s3, bucket, dialect=dialect).__enter__()
    assert sent["s3"].get("If-None-Match") == b"*"
    assert "x-cos-forbid-overwrite" not in sent["s3"]
    assert sent["cos"].get("x-cos-forbid-overwrite") == b"true"
    assert "If-None-Match" not in sent["cos"]


def test_credentials_come_from_the_environment_and_are_never_shown(s3):
    settings = with_environment(BackendSettings(kind="cos", bucket="b-1250000000"),
                                {**KEYS, "TENCENTCLOUD_REGION": "ap-shanghai"})
    assert settings.region == "ap-shanghai"
    found = settings.credentials
    assert found["aws_access_key_id"].reveal() == KEYS["TENCENTCLOUD_SECRET_ID"]
    assert "testsecretkey" not in repr(settings)
    assert with_environment(BackendSettings(kind="cos", bucket="b-1250000000"),
                            {}).credentials == {}  # boto3's own chain then
    unreachable = CosStateStore(bucket="b-1250000000", stack="demo", region=REGION,
                                endpoint="http://127.0.0.1:1", credentials=found)
    with pytest.raises(StateError) as refused:
        unreachable.pull()
    assert "testsecretkey" not in str(refused.value) + str(refused.value.hint)
    with pytest.raises(StateError, match="NoSuchBucket"):
        store(s3, "missing-1250000000").pull()


HOLDER = textwrap.dedent("""
    import sys, time
    from mtlsform.state.cos import CosStateStore
    from tests.backends.s3server import REGION, credentials
    store = CosStateStore(bucket=sys.argv[2], stack=sys.argv[3], region=REGION,
                          endpoint=sys.argv[1], credentials=credentials(), operation="apply")
    with store:
        print(store.lock_info.id, flush=True)
        time.sleep(600)
""")


def hold_lock(s3, bucket: str, stack: str = "demo") -> tuple[subprocess.Popen[str], str]:
    """A process that holds the lock until killed, and its lock ID."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, s3.endpoint, bucket, stack],
                               stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    with process.stdout:  # it prints once: closed here, never left to the collector
        lock_id = process.stdout.readline().strip()
    return process, lock_id


def test_kill_9_of_the_holder_leaves_a_stale_lock_that_force_unlock_clears(s3):
    bucket = s3.bucket()
    process, lock_id = hold_lock(s3, bucket)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with pytest.raises(StateLockedError, match=lock_id) as refused:
        store(s3, bucket).__enter__()
    assert f"pid {process.pid}" in str(refused.value)
    assert f"force-unlock {lock_id}" in (refused.value.hint or "")
    with pytest.raises(StateError, match="not with lock ID"):
        store(s3, bucket).force_unlock("wrong")
    holder = store(s3, bucket).force_unlock(lock_id)
    assert holder.id == lock_id and holder.operation == "apply" and holder.pid == process.pid
    with store(s3, bucket) as cos:
        assert cos.lock_info is not None and cos.lock_info.id != lock_id
    with pytest.raises(StateError, match="not locked"):
        store(s3, bucket).force_unlock(lock_id)


def test_secrets_are_sealed_with_the_passphrase(s3):
    bucket = s3.bucket()
    from mtlsform.sensitive import Sensitive

    with store(s3, bucket, passphrase="correct horse") as cos:
        cos.write(State.empty("demo").with_outputs(
            {"k": OutputValue(Sensitive("TOPSECRET"), sensitive=True)}))
    document = cos.pull()
    assert document is not None and b"TOPSECRET" not in document
