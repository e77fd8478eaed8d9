"""Waiting for CLB's asynchronous tasks: DescribeTaskStatus until the task is done or failed.

A CLB write returns at once; its RequestId is the task's ID. Status 2 is running, 0 done, 1
failed (with a Message). The whole wait is bounded by the task timeout (MTLSFORM_TASK_TIMEOUT).

Polls go close to the task's end: the first one when tasks of the same action were seen to be
done in this run (`TaskTimes`, learned per action; the profile's first poll until one was
seen), and, when the task is still running, again after short steps that double (a tenth of the
expected time first) up to the profile's cap. The expected time follows what is seen: a task
found done at its first poll lowers it a little (so that it keeps probing towards the real
duration), one that needed more polls raises it to when it was found done. Each poll takes a
slot of the client-side rate limit like any call.
"""

from __future__ import annotations

import threading
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


SHRINK = 0.99  # a task done at its first poll: the next first poll comes this much sooner
FIRST_STEP = 0.1  # a task still running: poll again after this share of the expected time
MIN_STEP = 0.005  # seconds


class TaskTimes:
    """When to poll a task of each action first: seconds after its write returned, learned
    from the tasks of this run; thread-safe."""

    def __init__(self, initial: float) -> None:
        self._initial = initial
        self._latest = initial  # what the last task of any action taught: a first guess
        self._expected: dict[str, float] = {}
        self._lock = threading.Lock()

    def expected(self, action: str) -> float:
        """Seconds after a write of `action` to poll first: what its tasks taught, else what
        any task of this run taught (the cloud's tasks take alike), else the profile's."""
        with self._lock:
            return self._expected.get(action, self._latest)

    def learn(self, action: str, found_done: float, polls: int) -> None:
        """A task of `action` was found done `found_done` seconds after its write, at poll
        number `polls` (1: the first)."""
        with self._lock:
            current = self._expected.get(action, self._latest)
            hit = polls <= 1  # done at the first poll: probe a little sooner next time
            learned = max(MIN_STEP, min(current, found_done) * SHRINK) if hit else found_done
            self._expected[action] = self._latest = learned


class TaskWaiter:
    def __init__(self, settings: ProviderSettings, clients: ThreadClients, caller: ApiCaller, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clients = clients
        self._caller = caller
        self._sleep = sleep
        self._clock = clock
        self.times = TaskTimes(settings.poll_backoff.first)

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
        start = self._clock()
        deadline = start + settings.task_timeout
        expected = self.times.expected(action)
        step = max(MIN_STEP, expected * FIRST_STEP)
        polls = 0
        while True:
            remaining = max(0.0, deadline - self._clock())
            wait = expected - (self._clock() - start) if polls == 0 \
                else min(settings.poll_backoff.cap, step * 2.0 ** min(polls - 1, 30))
            self._sleep(max(0.0, min(wait, remaining)))
            sent = self._clock() - start
            try:
                response = self._status(task_id)
            except ProviderError as error:  # the write was accepted: it may still land
                error.outcome_unknown = True
                raise
            polls += 1
            status = response.Status
            if status == DONE:
                self.times.learn(action, sent, polls)
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
