"""The embedded emulator as a provider target: start it in-process and point the settings at it.

The emulator runs in this process (an HTTP server thread on an ephemeral loopback port) with
its world in the given directory; the provider then talks to it exactly as to the cloud, over
HTTP with TC3 signatures, using the emulator's own key (real credentials are never sent to it).
MTLSFORM_EMULATOR_* variables (faults, instances, task delay, key) apply, as for
`mtlsform emulator serve`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtlsform.errors import MtlsformError
from mtlsform.providers.tencentcloud.credentials import ApiCredentials
from mtlsform.providers.tencentcloud.settings import ProviderSettings, emulator_settings
from mtlsform.sensitive import Sensitive

if TYPE_CHECKING:
    from mtlsform.stack.model import ProviderConfig

TASK_DELAY = 0.05  # seconds an emulated CLB task runs, unless MTLSFORM_EMULATOR_TASK_DELAY says


def _emulator_config(data_dir: Path, environ: Mapping[str, str]) -> Any:
    from mtlsform.emulator import EmulatorConfig
    from mtlsform.emulator.config import ENV_PREFIX, EmulatorConfigError

    overrides: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "tls": False}
    if not environ.get(ENV_PREFIX + "TASK_DELAY"):
        overrides["task_delay"] = TASK_DELAY
    try:
        return EmulatorConfig.from_env(data_dir, environ=environ, **overrides)
    except EmulatorConfigError as exc:
        raise MtlsformError(f"embedded emulator: {exc}",
                            hint=f"check the {ENV_PREFIX}* environment variables") from None


def _can_share(holder: Mapping[str, Any], config: Any) -> bool:
    """A running `emulator serve` of this world can take our calls with the same key (never
    another run's embedded emulator: it stops when that run ends)."""
    return bool(holder.get("serve")) and holder.get("scheme") == "http" \
        and bool(holder.get("default_key")) and config.uses_default_key \
        and holder.get("secret_id") == config.secret_id


def _shared(config: ProviderConfig, holder: Mapping[str, Any], emu_config: Any,
            environ: Mapping[str, str], world_dir: Path,
            ) -> tuple[ProviderSettings, ApiCredentials, Any, Path]:
    settings = emulator_settings(config.region, holder["url"], environ,
                                 task_delay=float(holder.get("task_delay") or 0.2))
    credentials = ApiCredentials(
        secret_id=emu_config.secret_id, secret_key=Sensitive(emu_config.key()), token=None,
        source=f"the emulator serving this world (pid {holder.get('pid')})")
    return settings, credentials, dict(holder), world_dir


@contextmanager
def running_emulator(config: ProviderConfig, data_dir: Path | None,
                     environ: Mapping[str, str],
                     ) -> Iterator[tuple[ProviderSettings, ApiCredentials, Any, Path]]:
    """Yields (settings, credentials, emulator, data_dir) while the emulator runs.

    When `mtlsform emulator serve` already serves this world (plain HTTP, default key), the
    provider talks to it instead and `emulator` is the holder's description (a dict).
    """
    from mtlsform.emulator import DataDirectoryBusy, Emulator, EmulatorConfigError

    with tempfile.TemporaryDirectory(prefix="mtlsform-emulator-") as scratch:
        world_dir = Path(data_dir) if data_dir is not None else Path(scratch)
        world_dir.mkdir(parents=True, exist_ok=True)
        emu_config = _emulator_config(world_dir, environ)
        emulator = Emulator(emu_config)
        try:
            emulator.start()
        except DataDirectoryBusy as exc:
            holder = exc.holder
            if not _can_share(holder, emu_config):
                raise MtlsformError(
                    f"embedded emulator: {exc}",
                    hint="another mtlsform run, or `mtlsform emulator serve` with its own key or "
                    "--tls, holds this world; wait for it, stop it, or point the stack at it "
                    "with provider: {kind: tencentcloud, endpoint: ...}") from None
            yield _shared(config, holder, emu_config, environ, world_dir)
            return
        except EmulatorConfigError as exc:
            raise MtlsformError(
                f"embedded emulator: {exc}",
                hint="check the MTLSFORM_EMULATOR_* environment variables") from None
        try:
            settings = emulator_settings(config.region, f"{emulator.scheme}://{emulator.endpoint}",
                                         environ, task_delay=emu_config.task_delay)
            token = emu_config.token()
            credentials = ApiCredentials(
                secret_id=emu_config.secret_id, secret_key=Sensitive(emu_config.key()),
                token=Sensitive(token) if token else None, source="the embedded emulator")
            yield settings, credentials, emulator, world_dir
        finally:
            emulator.stop()
