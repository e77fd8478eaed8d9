"""Active HTTP health checks of each rule's targets, and the results they give.

One asyncio task per (listener, rule, target) probes `method path` with the rule's Host every
`interval` seconds, failing on a connect error, a timeout or a status outside the HttpCode
bitmask. A target starts `Unknown` (it receives traffic), becomes `Dead` after
`unhealthy_threshold` consecutive failures (no traffic) and `Alive` after `healthy_threshold`
consecutive successes. Rules with checks off report `Close` (and receive traffic), as CLB's
DescribeTargetHealth does. Results are readable from any thread.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mtlsform.emulator.dataplane.closing import cancel_and_wait, close_writer
from mtlsform.emulator.dataplane.config import HealthCheckConfig
from mtlsform.emulator.dataplane.http1 import HttpError, read_head, serialize_head

ALIVE = "Alive"
DEAD = "Dead"
UNKNOWN = "Unknown"
CLOSE = "Close"

# (listener_id, location_id, target_id, port): a target as CLB's DescribeTargetHealth sees it.
HealthKey = tuple[str, str, str, int]

CLOSE_TIMEOUT = 1.0  # for the graceful close after an answer; a cancelled probe resets at once

log = logging.getLogger("mtlsform.emulator.dataplane")


@dataclass(frozen=True)
class ProbeSpec:
    """What to probe for one target: where to connect, and the rule's check settings."""

    address: str
    port: int
    check: HealthCheckConfig
    host_header: str


def _insecure_client_context() -> ssl.SSLContext:
    # Backends are reached the way CLB reaches them: without verifying their certificate.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def probe_http(address: str, port: int, *, method: str = "HEAD", path: str = "/",
                     host_header: str | None = None, timeout: float = 2.0,
                     use_tls: bool = False) -> int:
    """One HTTP check: the status code of `method path` (raises OSError/TimeoutError/HttpError).

    Cancellation ends it at once, whatever it is waiting for (the connection is reset)."""
    context = _insecure_client_context() if use_tls else None
    server_name = host_header if use_tls and host_header and not _is_ip(host_header) else None
    writer: asyncio.StreamWriter | None = None
    answered = False
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                address, port, ssl=context, server_hostname=server_name)
            headers = [("Host", host_header or address), ("User-Agent", "mtlsform-health-check"),
                       ("Connection", "close")]
            writer.write(serialize_head((method, path, "HTTP/1.1"), headers))
            await writer.drain()
            head = await read_head(reader, response=True)
            if head is None:
                raise HttpError(502, "empty reply")
            answered = True
            return head.status
    finally:
        if writer is not None:
            await close_writer(writer, CLOSE_TIMEOUT, graceful=answered)


def _is_ip(text: str) -> bool:
    return text.replace(".", "").isdigit() or ":" in text


class HealthRegistry:
    """Runs the checkers and keeps their results (thread-safe reads)."""

    def __init__(self, on_change: Callable[[HealthKey, str], None] | None = None) -> None:
        self._specs: dict[HealthKey, ProbeSpec | None] = {}
        self._tasks: dict[HealthKey, asyncio.Task[Any]] = {}
        # Checkers stopped by `reconcile` that are still unwinding: `close` waits for them too.
        self._retired: set[asyncio.Task[Any]] = set()
        self._status: dict[HealthKey, str] = {}
        self._lock = threading.Lock()
        self._on_change = on_change

    def status(self, key: HealthKey) -> str:
        with self._lock:
            return self._status.get(key, UNKNOWN)

    def usable(self, key: HealthKey) -> bool:
        """Whether the target may receive traffic (anything but Dead)."""
        return self.status(key) != DEAD

    def snapshot(self) -> dict[HealthKey, str]:
        with self._lock:
            return dict(self._status)

    def _set(self, key: HealthKey, status: str, why: str = "") -> None:
        with self._lock:
            before = self._status.get(key)
            self._status[key] = status
        if before != status and before is not None:
            listener_id, location_id, target_id, port = key
            log.info("target %s:%s of %s/%s is now %s%s", target_id, port, listener_id,
                     location_id, status, f" ({why})" if why else "")
        if before != status and self._on_change is not None:
            self._on_change(key, status)

    def reconcile(self, wanted: dict[HealthKey, ProbeSpec | None]) -> None:
        """Checks exactly the targets in `wanted` (None = checks off); call on the loop."""
        for key in list(self._specs):
            if key not in wanted:
                self._stop(key)
                self._specs.pop(key, None)
                with self._lock:
                    self._status.pop(key, None)
        for key, spec in wanted.items():
            if key in self._specs and self._specs[key] == spec:
                continue
            self._stop(key)
            self._specs[key] = spec
            if spec is None:
                self._set(key, CLOSE)
                continue
            with self._lock:
                if self._status.get(key) == CLOSE:
                    del self._status[key]  # checks switched back on: unknown until probed
                self._status.setdefault(key, UNKNOWN)
            self._tasks[key] = asyncio.get_running_loop().create_task(
                self._run(key, spec), name=f"health-check {'/'.join(map(str, key))}")

    def _stop(self, key: HealthKey) -> None:
        task = self._tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)

    def begin_close(self) -> list[asyncio.Task[Any]]:
        """Cancels every checker, including those still unwinding, and forgets all results
        (so the registry can serve a restarted data plane); returns the tasks to wait for."""
        tasks = [*self._tasks.values(), *self._retired]
        self._tasks.clear()
        self._specs.clear()
        with self._lock:
            self._status.clear()
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self) -> None:
        await cancel_and_wait(self.begin_close())

    async def _run(self, key: HealthKey, spec: ProbeSpec) -> None:
        check = spec.check
        successes = failures = 0
        while True:
            try:
                status = await probe_http(
                    spec.address, spec.port, method=check.method, path=check.path,
                    host_header=spec.host_header, timeout=check.timeout,
                    use_tls=check.check_type == "HTTPS")
                ok, why = check.accepts(status), f"HTTP {status}"
            except Exception as exc:  # any failure of the probe is a failed check
                ok, why = False, _failure_text(exc)
            if ok:
                successes, failures = successes + 1, 0
                if successes >= check.healthy_threshold:
                    self._set(key, ALIVE, why)
            else:
                successes, failures = 0, failures + 1
                if failures >= check.unhealthy_threshold:
                    self._set(key, DEAD, why)
            await asyncio.sleep(check.interval)


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, HttpError):
        return exc.message
    return str(exc) or type(exc).__name__
