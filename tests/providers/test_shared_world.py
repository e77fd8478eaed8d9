"""open_provider on a world another emulator holds: shared when it is a `serve` with the
default key (the context carries its holder record), else EmulatorWorldBusy, whose message
names a damaged holder record's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlsform.emulator import Emulator, EmulatorConfig, HolderRecord
from mtlsform.emulator.holder import lock_file
from mtlsform.errors import MtlsformError
from mtlsform.providers import EmulatorWorldBusy
from tests.providers.conftest import emulated


def test_a_served_world_is_shared_and_the_context_holds_the_record(
        tmp_path: Path, environ: dict[str, str]) -> None:
    with Emulator(EmulatorConfig(data_dir=tmp_path / "world", task_delay=0.01)) as served:
        served.announce(serve=True, data_plane_port_offset=7000)
        with emulated(tmp_path, environ) as cloud:
            record = cloud.context.shared_emulator
            assert isinstance(record, HolderRecord) and record == served.holder_record()
            assert cloud.context.emulator is None
            assert cloud.context.endpoint == served.url
            assert cloud.context.sharing_note() == (
                f"Using the emulator that already serves this world: {served.url} "
                f"(pid {record.pid}).")
            assert cloud.provider.read_load_balancers(["lb-00000000"]) == {}


def test_an_embedded_emulator_of_this_run_has_no_sharing_note(
        tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, environ) as cloud:
        assert isinstance(cloud.context.emulator, Emulator)
        assert cloud.context.shared_emulator is None and cloud.context.sharing_note() is None


def test_a_world_held_with_another_key_is_busy(tmp_path: Path, environ: dict[str, str]) -> None:
    config = EmulatorConfig(data_dir=tmp_path / "world", secret_key="not-the-default")
    with Emulator(config) as served:
        served.announce(serve=True)
        with pytest.raises(EmulatorWorldBusy) as raised, emulated(tmp_path, environ):
            pass
        busy = raised.value
        assert isinstance(busy, MtlsformError) and busy.holder == served.holder_record()
    assert not busy.holder.default_key
    assert busy.data_dir == tmp_path / "world"
    assert "not-the-default" not in str(busy)


def test_a_damaged_holder_record_is_busy_and_names_the_file(
        tmp_path: Path, environ: dict[str, str]) -> None:
    with Emulator(EmulatorConfig(data_dir=tmp_path / "world")):
        lock_file(tmp_path / "world").write_text("[]")
        with pytest.raises(EmulatorWorldBusy) as raised, emulated(tmp_path, environ):
            pass
    assert raised.value.holder is None
    assert raised.value.damage == (f"the holder record in {lock_file(tmp_path / 'world')} is "
                                   "damaged: expected a JSON object")
    assert raised.value.message == (
        f"embedded emulator: another emulator is using the data directory {tmp_path / 'world'}"
        f"; the holder record in {lock_file(tmp_path / 'world')} is damaged: expected a JSON "
        "object")
