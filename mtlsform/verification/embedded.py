"""The embedded emulator's data plane, brought up on the stack's world for one `verify` run.

The world is opened the way the engine opens it (`open_provider`, same data directory and
MTLSFORM_EMULATOR_* settings), and the data plane serves it. It first tries the real ports
(port offset 0); when a listener or a demo instance cannot bind (ports below 1024 without
privileges, or taken by another process), it picks an offset at which every address and port
it needs is free, and starts again. The checks connect to where each listener actually bound.
The data plane's log records (refused handshakes are expected here) are kept, not printed.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtlsform.errors import MtlsformError
from mtlsform.stack.model import Stack
from mtlsform.verification.model import Entry
from mtlsform.verification.tlsprobe import Outcome

LOGGER = "mtlsform.emulator.dataplane"
ATTEMPTS = 4
OFFSET_RANGE = (10000, 60000)
LOG_WAIT = 0.5  # seconds to wait for the data plane to record a refused handshake


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

    plane: Any
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


def _free(address: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _needed(config: Any, listener_ids: set[str]) -> list[tuple[str, int]]:
    """Addresses and configured ports the data plane binds for our listeners and demo backends."""
    binds = []
    for listener in config.listeners:
        if listener.listener_id in listener_ids:
            binds.append((listener.vip, listener.port))
        for route in listener.routes:
            for target in route.targets:
                if config.instance_at(target.address) is not None:
                    binds.append((target.address, target.port))
    return sorted(set(binds))


def _free_offset(binds: list[tuple[str, int]], tried: set[int], rng: random.Random) -> int:
    top = max((port for _, port in binds), default=0)
    low, high = OFFSET_RANGE
    high = min(high, 65535 - top)
    for _ in range(200):
        offset = rng.randrange(low, high)
        if offset not in tried and all(_free(address, port + offset) for address, port in binds):
            return offset
    raise MtlsformError("cannot find free ports for the emulator's data plane",
                        hint="pass --address HOST:PORT of a data plane you run yourself")


def _bind_problems(plane: Any, listener_ids: set[str]) -> list[str]:
    """Our listeners and the demo instances (behind any listener) that could not bind."""
    problems = [message for listener_id, message in sorted(plane.bind_errors.items())
                if listener_id in listener_ids]
    problems += [f"demo instance {instance_id} {message}"
                 for (instance_id, _), message in sorted(plane.instance_bind_errors.items())]
    return problems


def start_plane(world: Any, listener_ids: set[str]) -> ServedPlane:
    """Starts a data plane on `world`, at the real ports if it can, else at a free offset."""
    from mtlsform.emulator.dataplane import DataPlane

    rng = random.Random()
    tried: set[int] = set()
    offset, problems = 0, []
    for _ in range(ATTEMPTS):
        tried.add(offset)
        plane = DataPlane(world, port_offset=offset).start()
        problems = _bind_problems(plane, listener_ids)
        if not problems:
            served = ServedPlane(plane, offset)
            if offset:
                served.notes.append(f"the real ports could not be bound; the data plane "
                                    f"listens at port + {offset}")
            return served
        binds = _needed(plane.config, listener_ids)
        plane.stop()
        offset = _free_offset(binds, tried, rng)
    raise MtlsformError(f"cannot bring up the emulator's data plane: {problems[0]}",
                        hint="pass --address HOST:PORT of a data plane you run yourself")


class ServedElsewhere(Exception):
    """`mtlsform emulator serve` holds the world: check its data plane instead of ours."""

    def __init__(self, holder: Mapping[str, Any]) -> None:
        super().__init__("the world is served by another process")
        self.holder = dict(holder)


@contextmanager
def _world(stack: Stack, data_dir: Path, environ: Mapping[str, str]) -> Iterator[Any]:
    """The stack's emulator world, opened as the engine opens it."""
    from mtlsform.providers import open_provider

    entered = False
    try:
        with open_provider(stack.provider, emulator_data_dir=data_dir,
                           environ=environ) as (_, context):
            entered = True
            if context.shared_emulator is not None:
                raise ServedElsewhere(context.shared_emulator)
            yield context.emulator.world
    except MtlsformError as exc:
        if entered or "another emulator" not in str(exc):
            raise
        raise MtlsformError(
            f"the stack's emulator world ({data_dir}) is in use by another emulator",
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
