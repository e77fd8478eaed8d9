"""The embedded emulator as a provider target: start it in-process and point the settings at it.

The emulator runs in this process (an HTTP server thread on an ephemeral loopback port) with
its world in the given directory; the provider then talks to it exactly as to the cloud, over
HTTP with TC3 signatures, using the emulator's own key (real credentials are never sent to it).
The emulator's variables (faults, instances, task delay, key; `mtlsform.emulator.environment`)
apply, as for `mtlsform emulator serve`. When `mtlsform emulator serve` already serves the
world, its holder record says where, and the provider talks to it instead.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mtlsform.errors import MtlsformError
from mtlsform.providers import EmulatorWorldBusy
from mtlsform.providers.tencentcloud.credentials import ApiCredentials
from mtlsform.providers.tencentcloud.settings import ProviderSettings, emulator_settings
from mtlsform.sensitive import Sensitive

if TYPE_CHECKING:
    from mtlsform.emulator import Emulator, EmulatorConfig, HolderRecord
    from mtlsform.stack.model import ProviderConfig

TASK_DELAY = 0.05  # seconds an emulated CLB task runs, unless the environment says otherwise


@dataclass(frozen=True)
class EmulatorTarget:
    """Where the provider's calls go: the emulator this run started (`emulator`), or the
    `mtlsform emulator serve` already serving the world (`shared`, its holder record)."""

    settings: ProviderSettings
    credentials: ApiCredentials
    data_dir: Path
    emulator: Emulator | None = None
    shared: HolderRecord | None = None


def _config_error_hint() -> str:
    from mtlsform.emulator import environment

    return f"check the {environment.ENV_PREFIX}* environment variables"


def _emulator_config(data_dir: Path, environ: Mapping[str, str]) -> EmulatorConfig:
    from mtlsform.emulator import EmulatorConfig, EmulatorConfigError

    try:
        return EmulatorConfig.from_env(data_dir, environ=environ,
                                       defaults={"task_delay": TASK_DELAY},
                                       host="127.0.0.1", port=0, tls=False)
    except EmulatorConfigError as exc:
        raise MtlsformError(f"embedded emulator: {exc}", hint=_config_error_hint()) from None


def _can_share(holder: HolderRecord | None, config: EmulatorConfig) -> bool:
    """A running `emulator serve` of this world can take our calls with the same key."""
    return holder is not None and holder.shareable and config.uses_default_key \
        and holder.secret_id == config.secret_id


def _shared(config: ProviderConfig, holder: HolderRecord, emu_config: EmulatorConfig,
            environ: Mapping[str, str], world_dir: Path) -> EmulatorTarget:
    settings = emulator_settings(config.region, holder.url, environ,
                                 task_delay=holder.task_delay)
    credentials = ApiCredentials(
        secret_id=emu_config.secret_id, secret_key=Sensitive(emu_config.key()), token=None,
        source=f"the emulator serving this world (pid {holder.pid})")
    return EmulatorTarget(settings, credentials, world_dir, shared=holder)


@contextmanager
def running_emulator(config: ProviderConfig, data_dir: Path | None,
                     environ: Mapping[str, str]) -> Iterator[EmulatorTarget]:
    """Yields where calls go while the emulator runs (it stops on exit).

    When `mtlsform emulator serve` already serves this world (plain HTTP, default key), the
    provider talks to it instead (`shared`); another holder raises EmulatorWorldBusy.
    """
    from mtlsform.emulator import (
        DataDirectoryBusy,
        Emulator,
        EmulatorConfigError,
        EmulatorError,
    )

    with tempfile.TemporaryDirectory(prefix="mtlsform-emulator-") as scratch:
        world_dir = Path(data_dir) if data_dir is not None else Path(scratch)
        world_dir.mkdir(parents=True, exist_ok=True)
        emu_config = _emulator_config(world_dir, environ)
        emulator = Emulator(emu_config)
        try:
            emulator.start()
        except DataDirectoryBusy as busy:
            if busy.holder is None or not _can_share(busy.holder, emu_config):
                raise EmulatorWorldBusy(busy) from None
            yield _shared(config, busy.holder, emu_config, environ, world_dir)
            return
        except EmulatorConfigError as exc:
            raise MtlsformError(f"embedded emulator: {exc}",
                                hint=_config_error_hint()) from None
        except EmulatorError as exc:  # e.g. a world file it cannot read
            raise MtlsformError(f"embedded emulator: {exc}") from None
        try:
            settings = emulator_settings(config.region, emulator.url, environ,
                                         task_delay=emu_config.task_delay)
            token = emu_config.token()
            credentials = ApiCredentials(
                secret_id=emu_config.secret_id, secret_key=Sensitive(emu_config.key()),
                token=Sensitive(token) if token else None, source="the embedded emulator")
            yield EmulatorTarget(settings, credentials, world_dir, emulator=emulator)
        finally:
            emulator.stop()
