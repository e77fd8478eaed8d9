"""open_data_plane: start a data plane that has bound what it needs, at the real ports or not.

    plane = open_data_plane(emu.world, listener_ids={"lbl-1"}, find_free_ports=True)
    plane.port_offset, plane.endpoint("lbl-1")   # where it settled; stop() when done

It first tries `port_offset` (default 0: the real ports). When a wanted listener or a demo
instance cannot bind (ports below 1024 without privileges, or taken by another process), it
raises DataPlaneBindError, or with `find_free_ports` picks an offset at which every address and
port it needs is free and starts again (a few times; another process may take a port between
the check and the bind).
"""

from __future__ import annotations

import random
import socket
from collections.abc import Collection

from mtlsform.emulator.dataplane.config import DataPlaneConfig
from mtlsform.emulator.dataplane.plane import DataPlane
from mtlsform.emulator.errors import DataPlaneBindError
from mtlsform.emulator.world import World

ATTEMPTS = 4
OFFSET_RANGE = (10000, 60000)
OFFSET_TRIES = 200


class NoFreePorts(DataPlaneBindError):
    """No port offset was found at which everything the data plane needs is free."""


def open_data_plane(source: World | DataPlaneConfig, *,
                    listener_ids: Collection[str] | None = None, port_offset: int = 0,
                    find_free_ports: bool = False, attempts: int = ATTEMPTS,
                    rng: random.Random | None = None) -> DataPlane:
    """A started data plane on `source` (a world it follows, or a fixed configuration) in
    which every listener of `listener_ids` (default: every served one) and every demo instance
    behind a listener is bound. Raises DataPlaneBindError (NoFreePorts when no offset is free)
    with the problems of the last try; the plane is stopped then."""
    rng = rng or random.Random()
    tried: set[int] = set()
    offset = port_offset
    problems: tuple[str, ...] = ()
    for _ in range(attempts if find_free_ports else 1):
        tried.add(offset)
        plane = DataPlane(source, port_offset=offset).start()
        problems = bind_problems(plane, listener_ids)
        if not problems:
            return plane
        binds = needed_binds(plane.config, listener_ids)
        plane.stop()
        if find_free_ports:
            offset = free_offset(binds, tried, rng, problems)
    raise DataPlaneBindError(problems)


def bind_problems(plane: DataPlane, listener_ids: Collection[str] | None) -> tuple[str, ...]:
    """Our listeners and the demo instances (behind any listener) that could not bind."""
    problems = [message for listener_id, message in sorted(plane.bind_errors.items())
                if listener_ids is None or listener_id in listener_ids]
    problems += [f"demo instance {instance_id} {message}"
                 for (instance_id, _), message in sorted(plane.instance_bind_errors.items())]
    return tuple(problems)


def needed_binds(config: DataPlaneConfig,
                 listener_ids: Collection[str] | None) -> list[tuple[str, int]]:
    """Addresses and configured ports the data plane binds for our listeners and demo backends."""
    binds = []
    for listener in config.listeners:
        if listener_ids is None or listener.listener_id in listener_ids:
            binds.append((listener.vip, listener.port))
        for route in listener.routes:
            for target in route.targets:
                if config.instance_at(target.address) is not None:
                    binds.append((target.address, target.port))
    return sorted(set(binds))


def free_offset(binds: list[tuple[str, int]], tried: set[int], rng: random.Random,
                problems: tuple[str, ...] = ()) -> int:
    """A random port offset, not tried yet, at which every address and port is free."""
    top = max((port for _, port in binds), default=0)
    low, high = OFFSET_RANGE
    high = min(high, 65535 - top)
    for _ in range(OFFSET_TRIES):
        if high <= low:
            break
        offset = rng.randrange(low, high)
        if offset not in tried and all(_free(address, port + offset) for address, port in binds):
            return offset
    raise NoFreePorts(problems, "cannot find free ports for the data plane")


def _free(address: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address, port))
        except OSError:
            return False
    return True
