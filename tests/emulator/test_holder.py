"""The holder record a running emulator writes into its lock file: round trip, damage, and
what another process learns from it (a real `mtlsform emulator serve` in its own process)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtlsform.emulator import (
    ApiBindError,
    DataDirectoryBusy,
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
    EmulatorError,
    HolderRecord,
    HolderRecordError,
)
from mtlsform.emulator.holder import lock_file

RECORD = HolderRecord(pid=4321, url="http://127.0.0.1:9000", endpoint="127.0.0.1:9000",
                      scheme="http", secret_id="AKIDx", default_key=True, task_delay=0.2,
                      ca_file=None, serve=True, data_plane_port_offset=8000)


def test_round_trip() -> None:
    assert HolderRecord.from_json(RECORD.to_json(), "lock") == RECORD
    assert HolderRecord.parse(RECORD.dumps(), "lock") == RECORD
    bare = HolderRecord(pid=1, url="https://[::1]:1", endpoint="[::1]:1", scheme="https",
                        secret_id="AKIDx", default_key=False, task_delay=0, ca_file="/ca.pem")
    assert HolderRecord.parse(bare.dumps(), "lock") == bare
    assert "data_plane" not in bare.to_json() and not bare.shareable and RECORD.shareable


def test_a_record_from_before_the_format_version_reads() -> None:
    old = {"pid": 7, "url": "http://127.0.0.1:9000", "endpoint": "127.0.0.1:9000",
           "scheme": "http", "secret_id": "AKIDx", "default_key": True, "task_delay": 0.2,
           "ca_file": None, "serve": True, "data_plane": {"port_offset": 0}}
    record = HolderRecord.from_json(old, "lock")
    assert (record.pid, record.serve, record.data_plane_port_offset) == (7, True, 0)


def test_an_empty_file_is_no_record_yet() -> None:
    assert HolderRecord.parse(b"", "lock") is None
    assert HolderRecord.parse(b"  \n", "lock") is None


@pytest.mark.parametrize(("data", "reason"), [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "expected a JSON object"),
    (b'{"pid": 1}', "url is missing"),
    (RECORD.dumps().replace(b'"pid": 4321', b'"pid": "4321"'), "pid: unexpected value '4321'"),
    (RECORD.dumps().replace(b'"pid": 4321', b'"pid": true'), "pid: unexpected value True"),
    (RECORD.dumps().replace(b'"port_offset": 8000', b'"port_offset": null'),
     "data_plane.port_offset: unexpected value None"),
    (RECORD.dumps().replace(b'"format_version": 1', b'"format_version": 9'), "is newer"),
])
def test_a_damaged_record_names_the_file(data: bytes, reason: str) -> None:
    with pytest.raises(HolderRecordError, match=re.escape(reason)) as raised:
        HolderRecord.parse(data, Path("/worlds/w/.lock"))
    assert raised.value.path == Path("/worlds/w/.lock")
    assert str(raised.value).startswith("the holder record in /worlds/w/.lock is damaged: ")


def test_a_running_emulator_describes_itself_and_never_its_key(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path, secret_key="k-only-mine", task_delay=0.01)
    with Emulator(config) as emu:
        emu.announce(serve=True, data_plane_port_offset=5)
        data = lock_file(tmp_path).read_bytes()
        record = HolderRecord.parse(data, lock_file(tmp_path))
        assert record == emu.holder_record()
        assert record is not None
        assert (record.pid, record.url, record.serve, record.data_plane_port_offset) == (
            os.getpid(), emu.url, True, 5)
        assert not record.default_key and b"k-only-mine" not in data
    assert lock_file(tmp_path).read_bytes() == b""  # released


@pytest.fixture
def served_world(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """`mtlsform emulator serve` in its own process, holding the world in tmp_path/world."""
    world = tmp_path / "world"
    process = subprocess.Popen(
        [sys.executable, "-m", "mtlsform", "emulator", "serve", "--port", "0", "--data-dir",
         str(world), "--task-delay", "0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "NO_COLOR": "1"})
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Press Ctrl-C"):
            break
    yield world, process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    process.stdout.close()


def test_a_world_held_by_another_process_says_who_holds_it(served_world) -> None:
    world, process = served_world
    with pytest.raises(DataDirectoryBusy) as raised:
        Emulator(EmulatorConfig(data_dir=world)).start()
    busy = raised.value
    assert isinstance(busy, EmulatorConfigError) and isinstance(busy, EmulatorError)
    assert busy.holder is not None and busy.damage is None
    assert (busy.holder.pid, busy.holder.serve, busy.holder.shareable) == (process.pid, True,
                                                                          True)
    assert busy.data_dir == world
    assert f"another emulator is using the data directory {world} (pid {process.pid}, " \
           f"{busy.holder.url})" == str(busy)


def test_a_damaged_record_of_another_process_is_reported_as_damage(served_world) -> None:
    world, _ = served_world
    lock_file(world).write_bytes(b'{"pid": ')  # the lock stays held: flock is on the file
    with pytest.raises(DataDirectoryBusy) as raised:
        Emulator(EmulatorConfig(data_dir=world)).start()
    busy = raised.value
    assert busy.holder is None and busy.damage is not None
    assert busy.damage.path == lock_file(world)
    assert str(busy).startswith(f"another emulator is using the data directory {world}; the "
                                f"holder record in {lock_file(world)} is damaged: not JSON")


def test_a_taken_api_port_is_an_api_bind_error_and_frees_the_world(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ApiBindError) as raised:
            Emulator(EmulatorConfig(data_dir=tmp_path, port=port)).start()
    assert (raised.value.host, raised.value.port) == ("127.0.0.1", port)
    assert str(raised.value) == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    with Emulator(EmulatorConfig(data_dir=tmp_path)):  # the world was released
        pass
