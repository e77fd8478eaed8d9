"""PresentingPlane: what chosen listeners of a world present, served for TLS handshakes only.

    plane = PresentingPlane(emu.world)            # nothing runs yet
    host, port = plane.address("lbl-1a2b3c4d")    # starts a data plane serving that listener
    plane.stop()

A data plane (the same listener code as `DataPlane` on a world) serves the listeners asked
about with the TLS material the world binds to them and their SNI domains, on 127.0.0.1 at
ports the kernel picks, without targets, health checks or demo instances: a handshake with it
gets the certificate the listener or domain presents, and nothing else is bound or probed (a
request would get 503). Each `address` call applies the world as it is then, so it answers at
once for the last change; `frozen` serves the world as it was when the plane was made (a data
plane that follows no change). Refused handshakes are kept, and logged at DEBUG only: a check
without a client certificate is refused by a mutual-TLS listener by design. Thread-safe.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from mtlsform.emulator.dataplane.config import DataPlaneConfig
from mtlsform.emulator.dataplane.loopthread import DataPlaneStopped
from mtlsform.emulator.dataplane.plane import DataPlane
from mtlsform.emulator.dataplane.worldconfig import config_from_world
from mtlsform.emulator.world import World, WorldState

HOST = "127.0.0.1"  # every listener on its own ephemeral port: no VIP aliases needed


def handshake_only(config: DataPlaneConfig, listener_ids: set[str]) -> DataPlaneConfig:
    """`config`'s listeners among `listener_ids`, at port 0, their routes without targets."""
    listeners = tuple(
        dataclasses.replace(listener, port=0, routes=tuple(
            dataclasses.replace(route, targets=()) for route in listener.routes))
        for listener in config.listeners if listener.listener_id in listener_ids)
    return DataPlaneConfig(listeners=listeners)


class PresentingPlane:
    """Serves a world's listeners for handshakes, started at the first `address` call."""

    def __init__(self, world: World, *, frozen: bool = False) -> None:
        self._world = world
        self._frozen: WorldState | None = world.committed() if frozen else None
        self._wanted: set[str] = set()
        self._plane: DataPlane | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self.starts = 0  # how often a data plane was started (at most once until stop)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    @property
    def running(self) -> bool:
        return self._plane is not None

    def address(self, listener_id: str) -> tuple[str, int] | None:
        """Where a handshake gets what the listener presents now (frozen: then), or None when
        the world holds no such HTTPS or HTTP listener (or the plane was stopped)."""
        with self._lock:
            if self._stopped:
                return None
            state = self._frozen if self._frozen is not None else self._world.committed()
            # Listeners asked about earlier stay: another thread may be handshaking with one.
            self._wanted.add(listener_id)
            config = handshake_only(config_from_world(state), self._wanted)
            try:
                if self._plane is None:
                    self._plane = DataPlane(config, host_override=HOST,
                                            refusal_log_level=logging.DEBUG).start()
                    self.starts += 1
                else:
                    self._plane.update(config)
            except DataPlaneStopped:
                return None
            endpoint = self._plane.endpoint(listener_id)
        return (endpoint.host, endpoint.bound_port) if endpoint is not None else None

    def stop(self) -> None:
        """Closes every socket and ends the data plane's thread; later calls serve nothing."""
        with self._lock:
            self._stopped = True
            plane, self._plane = self._plane, None
        if plane is not None:
            plane.stop()
