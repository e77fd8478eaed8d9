"""The shared machinery of one provider: clients, rate limiter, retrying caller, task waiter
(with the task times it learns) and CLB gates.

`call` is one API call with retries; `write` is one asynchronous CLB write: it holds the CLB's
gate across the call and the wait for its task, so two writes to one CLB never overlap.
`write_held` is the same write for code that already holds the gate (combined target writes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from mtlsform.providers.tencentcloud.clients import ThreadClients
from mtlsform.providers.tencentcloud.credentials import ApiCredentials
from mtlsform.providers.tencentcloud.locks import LoadBalancerLocks
from mtlsform.providers.tencentcloud.ratelimit import RateLimiter
from mtlsform.providers.tencentcloud.retry import ApiCaller
from mtlsform.providers.tencentcloud.settings import ProviderSettings
from mtlsform.providers.tencentcloud.tasks import TaskResult, TaskWaiter

log = logging.getLogger("mtlsform.provider")


class ApiSession:
    def __init__(self, settings: ProviderSettings, credentials: ApiCredentials) -> None:
        self.settings = settings
        self.clients = ThreadClients(settings, credentials)
        self.limiter = RateLimiter(settings.rate_limit, dict(settings.rate_limits))
        self.caller = ApiCaller(settings, credentials.secrets(), limiter=self.limiter)
        self.tasks = TaskWaiter(settings, self.clients, self.caller)
        self.locks = LoadBalancerLocks(linger=settings.target_linger)

    def call(self, service: str, action: str, request: Any, *,
             secrets: Iterable[str] = ()) -> Any:
        """One API call (retried when retryable); the SDK method is named like the action."""

        def send() -> Any:
            return getattr(self.clients.get(service), action)(request)

        response = self.caller.call(action, send, secrets=secrets)
        log.debug("%s ok (RequestId %s)", action, getattr(response, "RequestId", ""))
        return response

    def write(self, load_balancer_id: str | None, action: str,
              request: Any) -> tuple[Any, TaskResult]:
        """An asynchronous CLB write and the wait for its task, under the CLB's lock.

        `load_balancer_id` None (a CLB being created) takes no lock: nobody else knows it yet.
        """
        if load_balancer_id is None:
            return self.write_held(action, request)
        with self.locks.hold(load_balancer_id):
            return self.write_held(action, request)

    def write_held(self, action: str, request: Any) -> tuple[Any, TaskResult]:
        """The write and its task wait; the caller holds the CLB's gate (or nobody needs it)."""
        response = self.call("clb", action, request)
        return response, self.tasks.wait(response.RequestId, action)

    def close(self) -> None:
        self.clients.close()
