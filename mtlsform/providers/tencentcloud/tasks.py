"""Waiting for CLB's asynchronous tasks: DescribeTaskStatus until the task is done or failed.

A CLB write returns at once; its RequestId is the task's ID. Status 2 is running, 0 done, 1
failed (with a Message). Polls back off exponentially up to a cap, and the whole wait is bounded
by the task timeout (MTLSFORM_TASK_TIMEOUT).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mtlsform.errors import ProviderError
from mtlsform.providers.tencentcloud.clients import ThreadClients
from mtlsform.providers.tencentcloud.retry import ApiCaller
from mtlsform.providers.tencentcloud.settings import ENV_TASK_TIMEOUT, ProviderSettings

RUNNING, DONE, FAILED = 2, 0, 1


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    load_balancer_ids: tuple[str, ...]
    polls: int


class TaskWaiter:
    def __init__(self, settings: ProviderSettings, clients: ThreadClients, caller: ApiCaller, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clients = clients
        self._caller = caller
        self._sleep = sleep
        self._clock = clock

    def _status(self, task_id: str) -> Any:
        from tencentcloud.clb.v20180317 import models

        request = models.DescribeTaskStatusRequest()
        request.TaskId = task_id
        return self._caller.call("DescribeTaskStatus",
                                 lambda: self._clients.clb().DescribeTaskStatus(request))

    def wait(self, task_id: str, action: str) -> TaskResult:
        """Returns when the task of `action` (its RequestId `task_id`) finished successfully."""
        if not task_id:
            raise ProviderError("the API returned no RequestId to wait for", code="TaskUnknown",
                                action=action)
        settings = self._settings
        deadline = self._clock() + settings.task_timeout
        polls = 0
        while True:
            remaining = max(0.0, deadline - self._clock())
            self._sleep(min(settings.poll_backoff.delay(polls), remaining))
            try:
                response = self._status(task_id)
            except ProviderError as error:  # the write was accepted: it may still land
                error.outcome_unknown = True
                raise
            polls += 1
            status = response.Status
            if status == DONE:
                return TaskResult(task_id, tuple(response.LoadBalancerIds or ()), polls)
            if status == FAILED:
                reason = response.Message or "no reason given"
                raise ProviderError(f"the task failed: {reason}", code="TaskFailed",
                                    request_id=task_id, action=action)
            if status != RUNNING:
                raise ProviderError(f"DescribeTaskStatus answered an unknown Status {status!r}",
                                    code="TaskUnknown", request_id=task_id, action=action)
            if self._clock() >= deadline:
                raise ProviderError(
                    f"the task is still running after {settings.task_timeout:g} s",
                    code="TaskTimeout", request_id=task_id, action=action,
                    hint=f"raise {ENV_TASK_TIMEOUT}, or check the load balancer in the console; "
                         "the next plan reads what the task did", outcome_unknown=True)
