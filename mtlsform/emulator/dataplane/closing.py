"""Ending tasks and connections: cancellation that is never swallowed, never waits on a peer.

Python 3.11's `asyncio.wait_for` returns the inner result when it is cancelled in the loop step
where the inner awaitable finishes, so the cancellation is lost and a loop around it keeps
going (that made `DataPlane.stop()` hang on a health checker). The data plane therefore bounds
its waits with `asyncio.timeout`, waits for tasks with `asyncio.wait` (which never swallows the
caller's cancellation), and closes connections with `close_writer`: gracefully within a bound
in normal operation, at once (reset, no TLS close_notify exchange) while being cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


def being_cancelled() -> bool:
    """Whether the running task has a cancellation pending or under way (e.g. in a `finally`)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancels `tasks` and returns once every one has ended (their errors are not raised)."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in pending:
        if not task.cancelled():
            task.exception()  # retrieved, so it is not reported again when collected


async def close_writer(writer: Any, timeout: float, *, graceful: bool = True) -> None:
    """Closes a stream (asyncio's StreamWriter or the data plane's TlsWriter).

    Gracefully, waiting at most `timeout` for the transport to finish, unless `graceful` is
    false or the task is being cancelled: then the connection is reset at once. A cancellation
    that arrives meanwhile resets the connection and propagates.
    """
    if graceful and not being_cancelled():
        writer.close()
        try:
            async with asyncio.timeout(timeout):
                await writer.wait_closed()
            return
        except asyncio.CancelledError:
            await abort_writer(writer)
            raise
        except Exception:  # timed out or failed: nothing more to wait for
            pass
    await abort_writer(writer)


async def abort_writer(writer: Any) -> None:
    """Resets the connection now: nothing buffered is sent and no peer is waited for."""
    abort = getattr(writer, "abort", None)
    if abort is not None:  # TlsWriter: ends its own tasks, then closes the socket
        await abort()
    else:
        writer.transport.abort()
