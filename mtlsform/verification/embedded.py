"""The embedded emulator's data plane, brought up on the stack's world for one `verify` run.

The world is opened the way the engine opens it (`open_provider`, same data directory and
emulator settings), and the emulator's factory (`open_data_plane`) serves it: at the real ports
if it can, else at a port offset at which every address and port it needs is free. The checks
connect to where each listener actually bound. The data plane's log records (refused
handshakes are expected here) are kept, not printed. When `mtlsform emulator serve` holds the
world, ServedElsewhere carries its holder record instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mtlsform.errors import MtlsformError
from mtlsform.stack.model import Stack
from mtlsform.verification.model import Entry
from mtlsform.verification.tlsprobe import Outcome

if TYPE_CHECKING:
    from mtlsform.emulator import HolderRecord
    from mtlsform.emulator.dataplane import DataPlane
    from mtlsform.emulator.world import World

LOGGER = "mtlsform.emulator.dataplane"
LOG_WAIT = 0.5  # seconds to wait for the data plane to record a refused handshake
NO_PLANE_HINT = "pass --address HOST:PORT of a data plane you run yourself"


class _Captured(logging.Handler):
    """Keeps the data plane's log records for this run (and keeps them off the terminal)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class ServedPlane:
    """A running data plane on the stack's world, and the port offset it settled on."""

    plane: DataPlane
    port_offset: int
    notes: list[str] = field(default_factory=list)

    def address_of(self, listener_id: str | None) -> tuple[str, int] | None:
        endpoint = self.plane.endpoint(listener_id) if listener_id else None
        return (endpoint.host, endpoint.bound_port) if endpoint is not None else None

    def why_not_served(self, listener_id: str | None) -> str:
        if listener_id and listener_id in self.plane.bind_errors:
            return self.plane.bind_errors[listener_id]
        return (f"listener {listener_id} is not in the emulator's world (deleted outside "
                "mtlsform?)" if listener_id else "the state records no listener ID")

    def server_log(self, entry: Entry, outcome: Outcome) -> str | None:
        """What the data plane logged about the refused connection `outcome` made."""
        if outcome.local is None or outcome.kind == "answered":
            return None
        deadline = time.monotonic() + LOG_WAIT
        while True:
            for record in reversed(self.plane.handshake_failures()):
                if record.client == outcome.local and record.listener_id == entry.listener_id:
                    return record.message
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)


def start_plane(world: World, listener_ids: set[str]) -> ServedPlane:
    """Starts a data plane on `world`, at the real ports if it can, else at a free offset."""
    from mtlsform.emulator.dataplane import DataPlaneBindError, NoFreePorts, open_data_plane

    try:
        plane = open_data_plane(world, listener_ids=listener_ids, find_free_ports=True)
    except NoFreePorts:
        raise MtlsformError("cannot find free ports for the emulator's data plane",
                            hint=NO_PLANE_HINT) from None
    except DataPlaneBindError as exc:
        raise MtlsformError(f"cannot bring up the emulator's data plane: {exc.problems[0]}",
                            hint=NO_PLANE_HINT) from None
    served = ServedPlane(plane, plane.port_offset)
    if plane.port_offset:
        served.notes.append(f"the real ports could not be bound; the data plane listens at "
                            f"port + {plane.port_offset}")
    return served


class ServedElsewhere(Exception):
    """`mtlsform emulator serve` holds the world: check its data plane instead of ours."""

    def __init__(self, holder: HolderRecord) -> None:
        super().__init__("the world is served by another process")
        self.holder = holder


@contextmanager
def _world(stack: Stack, data_dir: Path, environ: Mapping[str, str]) -> Iterator[World]:
    """The stack's emulator world, opened as the engine opens it."""
    from mtlsform.providers import EmulatorWorldBusy, open_provider

    entered = False
    try:
        with open_provider(stack.provider, emulator_data_dir=data_dir,
                           environ=environ) as (_, context):
            entered = True
            if context.shared_emulator is not None:
                raise ServedElsewhere(context.shared_emulator)
            if context.emulator is None:
                raise MtlsformError(f"the stack's provider kind {context.kind} runs no emulator",
                                    hint=NO_PLANE_HINT)
            yield context.emulator.world
    except EmulatorWorldBusy as busy:
        if entered:
            raise
        damage = f"; {busy.damage}" if busy.damage else ""
        raise MtlsformError(
            f"the stack's emulator world ({data_dir}) is in use by another emulator{damage}",
            hint="stop it, or check its data plane with --address VIP:PORT (the VIP, and the "
                 "port plus the --port-offset of `mtlsform emulator serve --data-plane`)",
        ) from None


@contextmanager
def embedded_plane(stack: Stack, state_path: Path, listener_ids: set[str],
                   environ: Mapping[str, str]) -> Iterator[ServedPlane]:
    """The data plane of the stack's embedded emulator, for the duration of the block."""
    logger = logging.getLogger(LOGGER)
    captured = _Captured()
    logger.addHandler(captured)
    try:
        with _world(stack, Path(state_path).parent / "emulator", environ) as world:
            served = start_plane(world, listener_ids)
            try:
                yield served
            finally:
                served.plane.stop()  # prompt: it resets open connections, waits on no peer
    finally:
        logger.removeHandler(captured)
