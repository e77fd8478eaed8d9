"""A private asyncio loop in a daemon thread: calls from any thread, and a clean stop.

`LoopThread.call` runs a coroutine on the loop and returns its result; `stop(shutdown)` refuses
new calls, runs `shutdown()` (the owner closes what it runs), then ends every task left over
(tasks behind `call`s are let finish; they must not wait long once the owner is closing), stops
the loop and joins the thread. Tasks still pending at the end are logged, never waited for.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from mtlsform.emulator.errors import EmulatorError

log = logging.getLogger("mtlsform.emulator.dataplane")

CALL_TIMEOUT = 30.0
# A backstop, reached only if a task ignored its cancellation (a bug, which is then logged).
LEFTOVER_GRACE = 1.0


class DataPlaneStopped(EmulatorError, RuntimeError):
    """A call that needs the running data plane was made while it is stopped or stopping."""


class LoopThread:
    """Owns the loop and its thread; `running` until `stop` begins."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._calls: set[asyncio.Task[Any]] = set()
        # Orders calls before the shutdown and refuses them after it (any thread).
        self._submitting = threading.Lock()
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Starts the loop thread; returns once the loop runs."""
        # A selector loop everywhere: the listeners wait for readability themselves (add_reader),
        # which Windows' default proactor loop does not offer.
        loop = asyncio.SelectorEventLoop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                _report_left_running(loop)
                loop.close()

        self._stopping = False
        self._loop = loop
        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Runs `coroutine` on the loop and returns its result (raises DataPlaneStopped when
        the loop is not running or stopping)."""
        with self._submitting:
            loop = self._loop
            if loop is None or self._stopping:
                coroutine.close()
                raise DataPlaneStopped("the data plane is not running")
            future = asyncio.run_coroutine_threadsafe(self._as_call(coroutine), loop)
        return future.result(CALL_TIMEOUT)

    async def _as_call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)  # known to the stop, which lets it finish
        try:
            return await coroutine
        finally:
            self._calls.discard(task)

    def stop(self, shutdown: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        """Runs `shutdown()` on the loop, ends what is left, stops the loop and joins the
        thread. Returns False if it was not running or another thread is stopping it.
        Raises TimeoutError if the loop does not get to it within CALL_TIMEOUT (stuck in
        synchronous code)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return False
        with self._submitting:
            if self._stopping:
                return False
            self._stopping = True
        try:
            asyncio.run_coroutine_threadsafe(self._finish(shutdown()), loop).result(CALL_TIMEOUT)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=CALL_TIMEOUT)
            self._loop = None
            self._thread = None
        return True

    async def _finish(self, shutdown: Coroutine[Any, Any, None]) -> None:
        await shutdown
        # What connections left behind (e.g. a TLS close in progress) is ended here.
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        if not others:
            return
        for task in others:
            if task not in self._calls:
                task.cancel()
        _, pending = await asyncio.wait(others, timeout=LEFTOVER_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            log.error("%d task(s) of the data plane did not end when cancelled: %s",
                      len(pending), ", ".join(sorted(task.get_name() for task in pending)))


def _report_left_running(loop: asyncio.AbstractEventLoop) -> None:
    """Logs tasks still pending when the loop ends: each would be a leak (and asyncio would
    complain that it was destroyed while pending)."""
    left = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if left:
        log.error("%d task(s) still pending when the data plane's loop ended: %s", len(left),
                  "; ".join(repr(task.get_coro()) for task in left))
