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


@contextmanager
def running_emulator(config: ProviderConfig, data_dir: Path | None,
                     environ: Mapping[str, str],
                     ) -> Iterator[tuple[ProviderSettings, ApiCredentials, Any, Path]]:
    """Yields (settings, credentials, emulator, data_dir) while the emulator runs."""
    from mtlsform.emulator import Emulator, EmulatorConfigError

    with tempfile.TemporaryDirectory(prefix="mtlsform-emulator-") as scratch:
        world_dir = Path(data_dir) if data_dir is not None else Path(scratch)
        world_dir.mkdir(parents=True, exist_ok=True)
        emu_config = _emulator_config(world_dir, environ)
        emulator = Emulator(emu_config)
        try:
            emulator.start()
        except EmulatorConfigError as exc:
            busy = "another emulator" in str(exc)
            raise MtlsformError(
                f"embedded emulator: {exc}",
                hint="is another mtlsform run using this stack?" if busy else
                "check the MTLSFORM_EMULATOR_* environment variables") from None
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
