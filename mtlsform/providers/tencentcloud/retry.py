"""Calling the API: one SDK call, retried only when the failure is retryable.

Retryable: throttling (RequestLimitExceeded*, SSL LimitExceeded.RateLimitExceeded), a CLB busy
with another task (FailedOperation.ResourceInOperating and the busy messages), network failures.
Waits are capped exponential backoff with full jitter, bounded by a total retry time per call
(network failures also by a number of attempts). Everything else is raised at once as a
ProviderError. Each retry is logged on `mtlsform.provider` with the code and the delay. Every
attempt first takes a slot of its action's client-side rate limit (`ratelimit.RateLimiter`,
shared by the provider's threads), so that the cloud's own limit is never reached.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from mtlsform.providers.tencentcloud.errors import is_network, is_retryable, translate
from mtlsform.providers.tencentcloud.ratelimit import RateLimiter
from mtlsform.providers.tencentcloud.settings import ENV_RETRY_TIMEOUT, ProviderSettings

T = TypeVar("T")

log = logging.getLogger("mtlsform.provider")


class ApiCaller:
    """Runs SDK calls with the retry policy of the settings; thread-safe."""

    def __init__(self, settings: ProviderSettings, secrets: Iterable[str] = (), *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 limiter: RateLimiter | None = None) -> None:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        self._sdk_error = TencentCloudSDKException
        self._settings = settings
        self._secrets = tuple(secrets)
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random()
        self._limiter = limiter  # every attempt takes a slot of its action first

    def call(self, action: str, send: Callable[[], T], *, secrets: Iterable[str] = ()) -> T:
        """`send()` performs one SDK call; returns its response or raises ProviderError.

        `secrets` are values of this call (e.g. a private key) to scrub from error messages,
        on top of the credentials.
        """
        known = self._secrets + tuple(secrets)
        settings = self._settings
        deadline = self._clock() + settings.retry_timeout
        attempt = 0
        network_failures = 0
        while True:
            if self._limiter is not None:
                self._limiter.acquire(action)
            try:
                response = send()
            except self._sdk_error as exc:
                error = translate(exc, action, known)
            else:
                if attempt:
                    log.info("%s succeeded after %d retries", action, attempt)
                return response
            if not is_retryable(error):
                raise error from None
            if is_network(error.code):
                network_failures += 1
                if network_failures >= settings.network_attempts:
                    error.hint = (f"gave up after {network_failures} network failures; "
                                  f"{error.hint or 'check the endpoint and the network'}")
                    raise error from None
            delay = self._random.uniform(0.0, settings.retry_backoff.delay(attempt))
            if self._clock() + delay > deadline:
                error.hint = (f"still failing after {attempt + 1} attempts in "
                              f"{settings.retry_timeout:g} s ({ENV_RETRY_TIMEOUT})")
                raise error from None
            attempt += 1
            log.info("%s: %s, retry %d in %.2f s", action, error.code, attempt, delay)
            self._sleep(delay)
