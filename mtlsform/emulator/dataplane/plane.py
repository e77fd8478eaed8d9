"""The data plane: serves a `DataPlaneConfig` on loopback from its own event-loop thread.

`DataPlane` binds each HTTP/HTTPS listener on its load balancer's VIP (or `host_override`) at
its port + `port_offset`, runs the demo CVM instances on their private addresses at each bound
target port + `port_offset`, health-checks every bound target, and applies a new configuration
in place (`update`) without dropping the listeners that stay. It runs an asyncio loop in a
daemon thread, so synchronous code (the emulator, tests, the CLI) can start and stop it.
Targets whose address is not a demo instance are reached at their configured port.

Changes are applied one at a time (a lock), and none after `stop()` began. `stop()` never
waits on a peer: it cancels every task, resets open connections, closes every socket, and ends
what is left (`loopthread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from mtlsform.emulator.dataplane.acceptor import bind_error_text
from mtlsform.emulator.dataplane.backends import DemoBackends
from mtlsform.emulator.dataplane.balancer import Balancer
from mtlsform.emulator.dataplane.closing import cancel_and_wait
from mtlsform.emulator.dataplane.config import (
    DataPlaneConfig,
    InstanceConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    Timeouts,
)
from mtlsform.emulator.dataplane.failures import FailureLog, HandshakeRecord
from mtlsform.emulator.dataplane.forwarding import Services
from mtlsform.emulator.dataplane.health import UNKNOWN, HealthKey, HealthRegistry, ProbeSpec
from mtlsform.emulator.dataplane.listener import ListenerServer, tls_policies
from mtlsform.emulator.dataplane.loopthread import DataPlaneStopped, LoopThread
from mtlsform.emulator.dataplane.sessions import SessionCookies
from mtlsform.emulator.dataplane.tlscontexts import TlsContextCache, TlsMaterialError
from mtlsform.emulator.dataplane.worldconfig import WorldLink
from mtlsform.emulator.world import World

log = logging.getLogger("mtlsform.emulator.dataplane")

SERVED_PROTOCOLS = ("HTTPS", "HTTP")
# A backstop, reached only if a task ignored its cancellation (a bug, which is then logged):
# closing never waits on a peer and takes a few loop steps.
SHUTDOWN_GRACE = 5.0


@dataclass(frozen=True)
class Endpoint:
    """Where a listener is actually served (its VIP and port, or the overridden ones)."""

    listener_id: str
    load_balancer_id: str
    protocol: str
    vip: str
    port: int
    host: str
    bound_port: int


class DataPlane:
    """mTLS listeners, routing, balancing, health checks and demo backends on loopback."""

    def __init__(self, source: DataPlaneConfig | World, *, port_offset: int = 0,
                 host_override: str | None = None,
                 on_health_change: Callable[[HealthKey, str], None] | None = None,
                 timeouts: Timeouts | None = None, frozen: bool = False,
                 refusal_log_level: int = logging.WARNING) -> None:
        """`source` is the emulator's world (followed on every change, health reported back;
        `frozen`: served as it was at start, no change followed) or a fixed `DataPlaneConfig`
        (changed with `update`); `timeouts` how long clients are waited for;
        `refusal_log_level` the level refused handshakes are logged at (they are kept in
        `handshake_failures()` whatever it is)."""
        self.port_offset = port_offset
        self.frozen = frozen
        self.host_override = host_override
        if isinstance(source, DataPlaneConfig):
            self._link: WorldLink | None = None
            self._config = source
        else:
            self._link = WorldLink(source)
            self._config = DataPlaneConfig()
        self._on_health_change = on_health_change
        self.applied_version: int | None = None
        self._refresh_wanted: asyncio.Event | None = None
        self._follower: asyncio.Task[Any] | None = None
        self._runner = LoopThread("mtlsform-dataplane")
        self._servers: dict[str, ListenerServer] = {}
        self._contexts = TlsContextCache()
        self._failures = FailureLog(refusal_log_level)
        self._health = HealthRegistry(on_change=self._health_changed)
        self._balancer = Balancer(self._health)
        self._backends = DemoBackends()
        self._services = Services(self._balancer, SessionCookies(), self._connect_address,
                                  timeouts or Timeouts())
        self.bind_errors: dict[str, str] = {}
        self._tls_errors: dict[str, str] = {}
        self._apply_lock: asyncio.Lock | None = None
        self._closing = False  # on the loop: shutting down, nothing more is applied

    # -- lifecycle (any thread) ------------------------------------------------------------
    def start(self) -> DataPlane:
        """Starts the loop thread and serves the configuration; returns when bound."""
        if self._runner.running:
            return self
        self._closing = False
        self._apply_lock = asyncio.Lock()
        self._runner.start()
        log.info("started: listeners on their VIPs at port + %d%s", self.port_offset,
                 "" if self._link is None else ", frozen (following no change of the world)"
                 if self.frozen else ", following the world")
        try:
            if self._link is not None:
                if not self.frozen:  # first, so no change slips in between
                    self._call(self._start_following())
                self._call(self._refresh())
            else:
                self._call(self._apply(self._config))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Closes every listener, checker and demo backend, then ends the loop thread.

        Returns within a few loop steps: open connections are reset and probes in flight
        abandoned, never waited for. Calls made meanwhile from other threads apply nothing
        (`sync`, `update`) or raise `DataPlaneStopped`. Raises TimeoutError only if the loop
        thread is stuck in synchronous code (e.g. an `on_health_change` callback that never
        returns)."""
        if self._link is not None and self._runner.running:
            self._link.unfollow()  # changes from now on are not applied: no need to wake the loop
        try:
            self._runner.stop(self._shutdown)
        finally:
            if self._link is not None and not self._runner.running:
                self._link.close()  # after the checkers stopped, so no result comes in late

    def __enter__(self) -> DataPlane:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def update(self, config: DataPlaneConfig) -> None:
        """Serves `config` from now on (listeners that stay keep their sockets); while
        stopped, from the next start."""
        if self._link is not None:
            raise TypeError("this data plane follows a world; change the world instead")
        self._config = config
        if self._runner.running:
            with contextlib.suppress(DataPlaneStopped):
                self._call(self._apply(config))

    def sync(self) -> int | None:
        """Applies the world as it is now and returns its version (changes are otherwise
        applied shortly after each change notification). Once stopped, or while stopping,
        it applies nothing and returns the version last applied."""
        if self._link is not None and self._runner.running and not self.frozen:
            with contextlib.suppress(DataPlaneStopped):
                self._call(self._refresh())
        return self.applied_version

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self._runner.call(coroutine)

    # -- what it is doing (any thread) ---------------------------------------------------------
    @property
    def config(self) -> DataPlaneConfig:
        return self._config

    def endpoints(self) -> list[Endpoint]:
        """The listeners being served and where."""
        found = []
        for listener in self._config.listeners:
            server = self._servers.get(listener.listener_id)
            if server is not None:
                found.append(Endpoint(listener.listener_id, listener.load_balancer_id,
                                      listener.protocol, listener.vip, listener.port,
                                      server.bound[0], server.bound[1]))
        return found

    def endpoint(self, listener_id: str) -> Endpoint | None:
        return next((e for e in self.endpoints() if e.listener_id == listener_id), None)

    def target_health(self) -> dict[HealthKey, str]:
        """{(listener_id, location_id, target_id, port): Alive|Dead|Unknown|Close} for every
        target bound to a served rule (Unknown until the checks have decided)."""
        result: dict[HealthKey, str] = {}
        for listener in self._config.listeners:
            if listener.protocol not in SERVED_PROTOCOLS:
                continue
            for route in listener.routes:
                for target in route.targets:
                    key = (listener.listener_id, route.location_id, target.target_id,
                           target.port)
                    result[key] = (self._health.status(key) if self._runner.running
                                   else UNKNOWN)
        return result

    @property
    def instance_bind_errors(self) -> dict[tuple[str, int], str]:
        """Demo instances that cannot serve: {(instance ID, target port): "cannot listen on
        ADDRESS:PORT: reason (hint)"} (the port is the configured one, before the offset).
        `bind_errors` is the same for listeners: {listener ID: message}."""
        return dict(self._backends.bind_errors)

    def handshake_failures(self) -> list[HandshakeRecord]:
        """The most recent refused handshakes, oldest first."""
        return self._failures.records()

    def stop_instance(self, instance_id: str) -> None:
        """Stops a demo instance's servers (for health-check demonstrations and tests)."""
        self._call(self._switch_instance(instance_id, running=False))

    def start_instance(self, instance_id: str) -> None:
        self._call(self._switch_instance(instance_id, running=True))

    # -- on the loop ---------------------------------------------------------------------------
    def _health_changed(self, key: HealthKey, status: str) -> None:
        if self._link is not None:
            self._link.report_health(key, status)
        if self._on_health_change is not None:
            self._on_health_change(key, status)

    async def _start_following(self) -> None:
        assert self._link is not None
        self._refresh_wanted = asyncio.Event()
        loop, wanted = asyncio.get_running_loop(), self._refresh_wanted
        self._follower = loop.create_task(self._follow())

        def on_change(version: int) -> None:
            loop.call_soon_threadsafe(wanted.set)

        self._link.follow(on_change)

    async def _follow(self) -> None:
        assert self._refresh_wanted is not None
        while True:
            await self._refresh_wanted.wait()
            self._refresh_wanted.clear()
            try:
                await self._refresh()
            except Exception:  # a bad world must not stop the data plane following it
                log.exception("cannot apply the world's new configuration")

    async def _refresh(self) -> None:
        assert self._link is not None and self._apply_lock is not None
        async with self._apply_lock:
            if self._closing:
                return
            # Read under the lock, so an older snapshot is never applied after a newer one.
            version, config = self._link.read()
            self._config = config
            await self._apply_now(config)
            self.applied_version = version

    async def _apply(self, config: DataPlaneConfig) -> None:
        assert self._apply_lock is not None
        async with self._apply_lock:
            if not self._closing:
                await self._apply_now(config)

    async def _switch_instance(self, instance_id: str, *, running: bool) -> None:
        assert self._apply_lock is not None
        async with self._apply_lock:
            if self._closing:
                return
            if running:
                await self._backends.start_instance(instance_id)
            else:
                await self._backends.stop_instance(instance_id)

    def _bind_address(self, listener: ListenerConfig) -> tuple[str, int]:
        return (self.host_override or listener.vip, listener.port + self.port_offset)

    def _connect_address(self, target: TargetConfig) -> tuple[str, int]:
        if self._config.instance_at(target.address) is not None:
            return (target.address, target.port + self.port_offset)
        return (target.address, target.port)

    async def _apply_now(self, config: DataPlaneConfig) -> None:
        wanted = {listener.listener_id: listener for listener in config.listeners
                  if listener.protocol in SERVED_PROTOCOLS}
        for listener_id in list(self._servers):
            listener = wanted.get(listener_id)
            server = self._servers[listener_id]
            if listener is None or self._bind_address(listener) != server.bind:
                del self._servers[listener_id]
                await server.close()
        for listener_id, listener in wanted.items():
            self._check_tls(listener)
            if listener_id in self._servers:
                self._servers[listener_id].update(listener)
                continue
            server = ListenerServer(listener, self._bind_address(listener), self._services,
                                    self._contexts, self._failures)
            try:
                await server.start()
            except OSError as exc:
                self._bind_failed(listener, server.bind, exc)
                continue
            self.bind_errors.pop(listener_id, None)
            self._servers[listener_id] = server
            log.info("serving %s %s on %s", listener.protocol, listener_id, server.listen)
        for listener_id in list(self.bind_errors):
            if listener_id not in wanted:
                del self.bind_errors[listener_id]
        self._contexts.retain([p for li in wanted.values() for p in tls_policies(li)])
        routes = {(li.listener_id, r.location_id): r for li in wanted.values() for r in li.routes}
        self._balancer.retain(routes)
        self._health.reconcile(self._probe_specs(wanted.values()))
        await self._backends.reconcile(self._demo_servers(config, wanted.values()))

    def _bind_failed(self, listener: ListenerConfig, bind: tuple[str, int], exc: OSError) -> None:
        message = bind_error_text(bind[0], bind[1], exc)
        if self.bind_errors.get(listener.listener_id) != message:
            log.error("listener %s %s", listener.listener_id, message)
        self.bind_errors[listener.listener_id] = message

    def _check_tls(self, listener: ListenerConfig) -> None:
        # Build contexts now so a bad certificate is reported at configuration time, once.
        for policy in tls_policies(listener):
            try:
                self._contexts.context_for(policy)
            except TlsMaterialError as exc:
                key = f"{listener.listener_id}/{policy.fingerprint()}"
                if key not in self._tls_errors:
                    log.error("listener %s: %s", listener.listener_id, exc)
                self._tls_errors[key] = str(exc)

    def _probe_specs(self, listeners: Iterable[ListenerConfig],
                     ) -> dict[HealthKey, ProbeSpec | None]:
        specs: dict[HealthKey, ProbeSpec | None] = {}
        for listener in listeners:
            for route in listener.routes:
                check = route.health_check
                for target in route.targets:
                    key = (listener.listener_id, route.location_id, target.target_id,
                           target.port)
                    if not check.enabled:
                        specs[key] = None
                    elif check.check_type in ("HTTP", "HTTPS"):
                        address, port = self._connect_address(target)
                        specs[key] = ProbeSpec(address, port, check,
                                               check.domain or _plain_domain(route, address))
        return specs

    def _demo_servers(self, config: DataPlaneConfig, listeners: Iterable[ListenerConfig],
                      ) -> dict[tuple[str, int], tuple[InstanceConfig, int]]:
        wanted: dict[tuple[str, int], tuple[InstanceConfig, int]] = {}
        for listener in listeners:
            for route in listener.routes:
                for target in route.targets:
                    instance = config.instance_at(target.address)
                    if instance is not None:
                        wanted[(instance.instance_id, target.port)] = (
                            instance, target.port + self.port_offset)
        return wanted

    async def _shutdown(self) -> None:
        self._closing = True
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await self._close_everything()
        except TimeoutError:
            log.error("closing the data plane took over %.0f s: ending what is left",
                      SHUTDOWN_GRACE)

    async def _close_everything(self) -> None:
        assert self._apply_lock is not None
        async with self._apply_lock:  # a change being applied ends first (it waits on no peer)
            follower, self._follower = self._follower, None
            if follower is not None:
                await cancel_and_wait([follower])
            servers = list(self._servers.values())
            self._servers.clear()
            # Everything is cancelled and every socket scheduled to close before the first
            # wait, so even an interrupted shutdown leaves nothing listening.
            tasks = [task for server in servers for task in server.begin_close()]
            tasks += self._health.begin_close()
            tasks += self._backends.begin_close()
            await cancel_and_wait(tasks)


def _plain_domain(route: RouteConfig, fallback: str) -> str:
    for domain in route.domains:
        if not domain.startswith("~") and "*" not in domain:
            return domain
    return fallback
