"""Emulator: the whole local cloud in one object — world, tasks, faults and the HTTP(S) server.

    with Emulator(EmulatorConfig(data_dir=path, task_delay=0.02)) as emu:
        profile = HttpProfile(protocol=emu.scheme, endpoint=emu.endpoint)
        ...

`start()` serves on a daemon thread (an ephemeral port when `port=0`); `stop()` finishes the
pending tasks, waits until the world file holds everything (a background writer keeps it up to
date meanwhile, see worldwriter.py) and releases the data directory, which one emulator at a
time may use (an fcntl lock, released by the kernel if the process dies).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import ssl
import threading
from pathlib import Path
from typing import Any

from mtlsform.emulator import worldfile
from mtlsform.emulator.cloudids import INSTANCE_NETWORK, allocate_address
from mtlsform.emulator.config import EmulatorConfig
from mtlsform.emulator.dispatch import Api
from mtlsform.emulator.errors import (
    ApiBindError,
    DataDirectoryBusy,
    EmulatorConfigError,
    HolderRecordError,
)
from mtlsform.emulator.faults import Faults, RateLimiter
from mtlsform.emulator.holder import HolderRecord, lock_file
from mtlsform.emulator.server import ApiServer
from mtlsform.emulator.tasks import TaskRunner, recover_interrupted
from mtlsform.emulator.tlscert import TlsFiles, ensure_server_certificate
from mtlsform.emulator.world import Instance, World, WorldState
from mtlsform.emulator.worldfile import WorldFileError
from mtlsform.emulator.worldwriter import WorldWriter


def ensure_instances(state: WorldState, config: EmulatorConfig) -> None:
    """Adds (or renames) the demo and declared CVM instances; each gets a loopback private IP."""
    used = {inst.private_ip for inst in state.instances.values()}
    for spec in config.all_instances():
        existing = state.instances.get(spec.instance_id)
        taken_by = next((i.instance_id for i in state.instances.values()
                         if spec.private_ip and i.private_ip == spec.private_ip
                         and i.instance_id != spec.instance_id), None)
        if taken_by:
            raise EmulatorConfigError(
                f"instance {spec.instance_id}: private IP {spec.private_ip} is already "
                f"{taken_by}'s")
        if existing is None:
            ip = spec.private_ip or allocate_address(INSTANCE_NETWORK, used)
            state.instances[spec.instance_id] = Instance(spec.instance_id, spec.name, ip)
            used.add(ip)
            continue
        wanted_ip = spec.private_ip or ""
        moved = bool(wanted_ip) and wanted_ip != existing.private_ip
        ip = wanted_ip if moved else existing.private_ip
        # Records are replaced, never changed in place (committed versions are shared).
        state.instances[spec.instance_id] = dataclasses.replace(existing, name=spec.name,
                                                                private_ip=ip)
        if moved:
            used.add(ip)
            for lb in state.load_balancers.values():  # the draft's own copies
                for lst in lb.listeners.values():
                    for target in [*lst.targets,
                                   *(t for rule in lst.rules.values() for t in rule.targets)]:
                        if target.instance_id == spec.instance_id:
                            target.ip = ip


def _read_holder(fd: int, path: Path) -> HolderRecord | None:
    """The record another process wrote into the lock file (None if it wrote none yet)."""
    try:
        data = os.pread(fd, 4096, 0)
    except OSError as exc:
        raise HolderRecordError(path, f"cannot read it: {exc.strerror or exc}") from None
    return HolderRecord.parse(data, path)


class Emulator:
    def __init__(self, config: EmulatorConfig):
        self.config = config
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None
        self._world: World | None = None
        self._runner: TaskRunner | None = None
        self._api: Api | None = None
        self._lock_fd: int | None = None
        self._tls: TlsFiles | None = None
        self._writer: WorldWriter | None = None
        self._serve = False
        self._data_plane_port_offset: int | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def _lock_data_dir(self, data_dir: Path) -> None:
        path = lock_file(data_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder, damage = None, None
            try:
                holder = _read_holder(fd, path)
            except HolderRecordError as exc:
                damage = exc
            finally:
                os.close(fd)
            raise DataDirectoryBusy(data_dir, holder, damage) from None
        self._lock_fd = fd

    def announce(self, *, serve: bool | None = None,
                 data_plane_port_offset: int | None = None) -> None:
        """Adds to what the lock file says about this emulator: that it is a long-running
        `serve` other mtlsform runs may use, and at which port offset its data plane listens."""
        if serve is not None:
            self._serve = serve
        if data_plane_port_offset is not None:
            self._data_plane_port_offset = data_plane_port_offset
        self._record_holder()

    def holder_record(self) -> HolderRecord:
        """What this emulator says about itself in the lock file (never the key)."""
        return HolderRecord(
            pid=os.getpid(), url=self.url, endpoint=self.endpoint, scheme=self.scheme,
            secret_id=self.config.secret_id,
            default_key=self.config.uses_default_key and not self.config.token(),
            task_delay=self.config.task_delay,
            ca_file=str(self.ca_path) if self.ca_path else None, serve=self._serve,
            data_plane_port_offset=self._data_plane_port_offset)

    def _record_holder(self) -> None:
        """Says in the lock file who serves this world."""
        if self._lock_fd is None or self._server is None:
            return
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, self.holder_record().dumps(), 0)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)
            self._lock_fd = None

    def start(self) -> Emulator:
        """Loads the world and serves on a daemon thread; returns self."""
        if self._server is not None:
            return self
        config = self.config
        data_dir = config.data_dir
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_data_dir(data_dir)
        try:
            self._open(config, data_dir)
        except BaseException:
            with contextlib.suppress(WorldFileError):  # the first error is the one to report
                self._close_writer()
            self._unlock()
            raise
        return self

    def _open(self, config: EmulatorConfig, data_dir: Path) -> None:
        path = data_dir / worldfile.FILE_NAME
        state = worldfile.load(path) or WorldState()
        self._writer = writer = WorldWriter(path)
        world = World(state, persist=writer.submit, flush=writer.flush)
        with world.transaction() as draft:
            recover_interrupted(draft)
            ensure_instances(draft, config)
        runner = TaskRunner(world, config.task_delay)
        api = Api(world, runner, Faults(config.faults), RateLimiter(config.rate_limit))
        context = None
        if config.tls:
            self._tls = ensure_server_certificate(data_dir, config.host)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(self._tls.cert_pem, self._tls.key_pem)
        try:
            server = ApiServer((config.host, config.port), api,
                               {config.secret_id: config.key()}, config.token, context)
        except OSError as exc:
            raise ApiBindError(config.host, config.port, exc) from None
        self._world, self._runner, self._api, self._server = world, runner, api, server
        runner.start()
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="emulator-http", daemon=True)
        self._thread.start()
        self._record_holder()

    def stop(self) -> None:
        """Stops serving, finishes pending tasks, waits until the world file holds everything,
        releases the data directory (raises WorldFileError, after releasing it, if the world
        cannot be saved)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        try:
            if self._runner is not None:
                self._runner.stop()
            self._close_writer()
        finally:
            self._server = self._thread = None
            self._unlock()

    def _close_writer(self) -> None:
        """Flushes and stops the world writer; later commits (if any) are saved at once."""
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers read -------------------------------------------------------------------

    def _running(self) -> ApiServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server

    @property
    def port(self) -> int:
        return int(self._running().server_address[1])

    @property
    def endpoint(self) -> str:
        """host:port as the SDK's HttpProfile.endpoint wants it (no scheme)."""
        host = self.config.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.endpoint}"

    @property
    def ca_path(self) -> Path | None:
        return self._tls.ca_pem if self._tls else None

    @property
    def ca_pem(self) -> str | None:
        """The CA that signed the --tls server certificate (None without TLS)."""
        return self._tls.ca_pem.read_text(encoding="ascii") if self._tls else None

    @property
    def world(self) -> World:
        if self._world is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._world

    def stats(self) -> dict[str, Any]:
        """What GET /_emulator/stats returns: call counts per action and per error code."""
        if self._api is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._api.report()

    def reset_stats(self) -> None:
        if self._api is not None:
            self._api.stats.reset()

    def wait_for_tasks(self) -> None:
        """Finishes every pending task now (tests; the real cloud only waits)."""
        if self._runner is not None:
            self._runner.flush()
