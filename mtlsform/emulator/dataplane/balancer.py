"""Choosing a target for a request: session pin, health, weights and the rule's scheduler.

The balancer keeps one scheduler per (listener, rule) across configuration changes (so a
weight change continues the smooth round robin instead of restarting it), counts active
requests per target for least connections, and asks the health registry which targets may
receive traffic.
"""

from __future__ import annotations

from collections.abc import Iterable

from mtlsform.emulator.dataplane.config import RouteConfig, TargetConfig
from mtlsform.emulator.dataplane.health import DEAD, HealthRegistry
from mtlsform.emulator.dataplane.schedulers import Key, Peer, Scheduler, make_scheduler

RouteKey = tuple[str, str]  # (listener_id, location_id)
TargetKey = tuple[str, int]  # (target_id, port)


class Balancer:
    """Per-rule schedulers and connection counts; consults health for every pick."""

    def __init__(self, health: HealthRegistry) -> None:
        self._health = health
        self._schedulers: dict[RouteKey, tuple[str, Scheduler]] = {}
        self._conns: dict[tuple[RouteKey, TargetKey], int] = {}

    def _scheduler(self, route_key: RouteKey, name: str) -> Scheduler:
        current = self._schedulers.get(route_key)
        if current is None or current[0] != name:
            current = (name, make_scheduler(name))
            self._schedulers[route_key] = current
        return current[1]

    def usable(self, listener_id: str, route: RouteConfig, target: TargetConfig) -> bool:
        return target.weight > 0 and self._health.usable(
            (listener_id, route.location_id, target.target_id, target.port))

    def choose(self, listener_id: str, route: RouteConfig, *, client_ip: str,
               pinned: TargetKey | None = None,
               exclude: Iterable[TargetKey] = ()) -> TargetConfig | None:
        """The target for one request, or None when no bound target may serve it."""
        excluded = set(exclude)
        by_key: dict[Key, TargetConfig] = {target.key: target for target in route.targets}
        if pinned is not None and pinned in by_key and pinned not in excluded:
            target = by_key[pinned]
            if self.usable(listener_id, route, target):
                return target
        route_key = (listener_id, route.location_id)
        peers = [Peer(t.key, t.weight, up=t.key not in excluded
                      and self.usable(listener_id, route, t)) for t in route.targets]
        conns: dict[Key, int] = {key: count for (rk, key), count in self._conns.items()
                                 if rk == route_key}
        key = self._scheduler(route_key, route.scheduler).pick(
            peers, client_ip=client_ip, conns=conns)
        return by_key.get(key) if key is not None else None

    def why_unavailable(self, listener_id: str, route: RouteConfig) -> str:
        """Why `choose` found nothing, for the 503 body."""
        if not route.targets:
            return "no target is bound to this rule"
        if all(target.weight == 0 for target in route.targets):
            return "every bound target has weight 0"
        dead = sum(1 for t in route.targets if self._health.status(
            (listener_id, route.location_id, t.target_id, t.port)) == DEAD)
        return f"no healthy target ({dead} of {len(route.targets)} failed their health check)"

    def acquire(self, route_key: RouteKey, target: TargetConfig) -> None:
        key = (route_key, target.key)
        self._conns[key] = self._conns.get(key, 0) + 1

    def release(self, route_key: RouteKey, target: TargetConfig) -> None:
        key = (route_key, target.key)
        remaining = self._conns.get(key, 0) - 1
        if remaining > 0:
            self._conns[key] = remaining
        else:
            self._conns.pop(key, None)

    def retain(self, routes: dict[RouteKey, RouteConfig]) -> None:
        """Forgets schedulers of removed rules and state of unbound targets."""
        for route_key in list(self._schedulers):
            route = routes.get(route_key)
            if route is None:
                del self._schedulers[route_key]
            else:
                self._schedulers[route_key][1].retain({t.key for t in route.targets})
