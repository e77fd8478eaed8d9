"""A local Tencent Cloud API (CLB 2018-03-17 and SSL 2019-12-05) on the real wire protocol.

    from mtlsform.emulator import Emulator, EmulatorConfig
    with Emulator(EmulatorConfig(data_dir=path)) as emu:
        emu.endpoint, emu.scheme, emu.world, emu.stats()

Public names: `Emulator`; its configuration (`EmulatorConfig`, built from flags plus the
environment by `EmulatorConfig.from_env`; the variable names in `environment`); the holder
record a running emulator writes into its lock file (`HolderRecord`); and the exceptions
(`EmulatorError` and its kinds, errors.py). The data plane is `mtlsform.emulator.dataplane`
(`open_data_plane`). A separate product: it imports nothing of the mtlsform engine. See
docs/emulator.md.

Names are imported on first use, so `mtlsform.emulator.environment` (the variable names) is
cheap to import, e.g. for `--help` texts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mtlsform.emulator import environment
    from mtlsform.emulator.config import (
        DEFAULT_SECRET_ID,
        DEFAULT_SECRET_KEY,
        EmulatorConfig,
        FaultConfig,
        FaultRule,
        InstanceSpec,
    )
    from mtlsform.emulator.emulator import Emulator
    from mtlsform.emulator.errors import (
        ApiBindError,
        DataDirectoryBusy,
        DataPlaneBindError,
        EmulatorConfigError,
        EmulatorError,
        HolderRecordError,
    )
    from mtlsform.emulator.holder import HolderRecord
    from mtlsform.emulator.worldfile import WorldFileError

_WHERE = {
    "DEFAULT_SECRET_ID": "config", "DEFAULT_SECRET_KEY": "config", "EmulatorConfig": "config",
    "FaultConfig": "config", "FaultRule": "config", "InstanceSpec": "config",
    "Emulator": "emulator", "ApiBindError": "errors", "DataDirectoryBusy": "errors",
    "DataPlaneBindError": "errors", "EmulatorConfigError": "errors", "EmulatorError": "errors",
    "HolderRecordError": "errors", "HolderRecord": "holder", "WorldFileError": "worldfile",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_SECRET_ID",
    "DEFAULT_SECRET_KEY",
    "ApiBindError",
    "DataDirectoryBusy",
    "DataPlaneBindError",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConfigError",
    "EmulatorError",
    "FaultConfig",
    "FaultRule",
    "HolderRecord",
    "HolderRecordError",
    "InstanceSpec",
    "WorldFileError",
    "environment",
]
