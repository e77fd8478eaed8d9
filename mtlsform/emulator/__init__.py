"""A local Tencent Cloud API (CLB 2018-03-17 and SSL 2019-12-05) on the real wire protocol.

    from mtlsform.emulator import Emulator, EmulatorConfig
    with Emulator(EmulatorConfig(data_dir=path)) as emu:
        emu.endpoint, emu.scheme, emu.world, emu.stats()

A separate product: it imports nothing of the mtlsform engine. See docs/emulator.md.
"""

from mtlsform.emulator.config import (
    DEFAULT_SECRET_ID,
    DEFAULT_SECRET_KEY,
    DataDirectoryBusy,
    EmulatorConfig,
    EmulatorConfigError,
    FaultConfig,
    FaultRule,
    InstanceSpec,
)
from mtlsform.emulator.emulator import Emulator
from mtlsform.emulator.worldfile import WorldFileError

__all__ = [
    "DEFAULT_SECRET_ID",
    "DEFAULT_SECRET_KEY",
    "DataDirectoryBusy",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConfigError",
    "FaultConfig",
    "FaultRule",
    "InstanceSpec",
    "WorldFileError",
]
