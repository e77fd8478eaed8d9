"""Provider settings: endpoint, region, timeouts and retry numbers, from the stack and environment.

Everything the provider needs to know before its first call is decided here, once, from the
stack's `provider:` block and the environment, with one clear error for each mistake. Two
profiles of numbers exist: one for the real cloud (slow tasks, strict rate limits) and one for the
in-process emulator (tasks of a few tens of milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from mtlsform.errors import MtlsformError
from mtlsform.providers.tencentcloud.credentials import ENV_SECRET_ID

Kind = Literal["emulator", "tencentcloud"]

DEFAULT_EMULATOR_REGION = "ap-guangzhou"

ENV_REGION = "TENCENTCLOUD_REGION"
ENV_API_TIMEOUT = "MTLSFORM_API_TIMEOUT"
ENV_TASK_TIMEOUT = "MTLSFORM_TASK_TIMEOUT"
ENV_RETRY_TIMEOUT = "MTLSFORM_RETRY_TIMEOUT"
ENV_TARGET_LINGER = "MTLSFORM_TARGET_LINGER"

# How long a target write that finds its CLB idle waits for siblings to join its call. Writes
# take seconds on the cloud and ~50 ms on the emulator; a few ms are noise next to either.
DEFAULT_TARGET_LINGER = 0.005
MAX_TARGET_LINGER = 1.0


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: `first`, doubling, never above `cap` (seconds)."""

    first: float
    cap: float

    def delay(self, attempt: int) -> float:
        """The ceiling of the wait before retry number `attempt` (0-based)."""
        return min(self.cap, self.first * (2.0 ** min(attempt, 30)))


@dataclass(frozen=True)
class Endpoint:
    """Where API calls go: scheme `http`/`https` and a `host[:port]` per service (clb, ssl).

    `host` None means the SDK's default public host for each service.
    """

    scheme: Literal["http", "https"] = "https"
    host: str | None = None

    def host_for(self, service: str) -> str | None:
        if self.host is None:
            return None
        return self.host.replace("{service}", service)

    def url(self, service: str = "clb") -> str:
        return f"{self.scheme}://{self.host_for(service) or f'{service}.tencentcloudapi.com'}"


@dataclass(frozen=True)
class ProviderSettings:
    kind: Kind
    region: str
    endpoint: Endpoint
    api_timeout: float  # seconds for one HTTP request
    task_timeout: float  # seconds to wait for one asynchronous CLB task (and a new CLB's VIP)
    retry_timeout: float  # seconds of retrying one call before giving up
    retry_backoff: Backoff  # waits between retries (full jitter below the ceiling)
    poll_backoff: Backoff  # waits between DescribeTaskStatus polls
    network_attempts: int = 5  # a down endpoint rarely comes back within seconds
    target_linger: float = DEFAULT_TARGET_LINGER  # seconds; 0: no waiting for siblings
    # Client-side rate limits (calls per second per action; None: none), at the documented
    # limits: 20/s for the CLB actions, 10/s for UploadCertificate (see ratelimit.py).
    rate_limit: float | None = 20.0
    rate_limits: tuple[tuple[str, float], ...] = (("UploadCertificate", 10.0),)


def parse_endpoint(text: str) -> Endpoint:
    """`http://127.0.0.1:9000` -> http + host; `clb.example.com` (no scheme) -> https."""
    raw = text.strip()
    if not raw:
        raise MtlsformError("provider.endpoint is empty",
                            hint="write host[:port], optionally with http:// or https://")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise MtlsformError(f"provider.endpoint {text!r}: scheme must be http or https",
                            hint="e.g. http://127.0.0.1:9000 or clb.tencentcloudapi.com")
    if not parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MtlsformError(f"provider.endpoint {text!r} is not a host[:port]",
                            hint="the API is always at path /; write only the scheme and host")
    if "@" in parts.netloc:
        raise MtlsformError("provider.endpoint must not carry user information",
                            hint=f"credentials come from {ENV_SECRET_ID}/_KEY")
    return Endpoint(scheme=scheme, host=parts.netloc)  # type: ignore[arg-type]


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise MtlsformError(f"{name}={value!r} is not a number of seconds",
                            hint=f"e.g. {name}={int(default)}") from None
    if not 0 < seconds <= 86400:
        raise MtlsformError(f"{name}={value!r} must be between 0 and 86400 seconds",
                            hint=f"e.g. {name}={int(default)}")
    return seconds


def _linger(environ: Mapping[str, str]) -> float:
    """MTLSFORM_TARGET_LINGER: seconds (0 turns the wait off), at most MAX_TARGET_LINGER."""
    value = environ.get(ENV_TARGET_LINGER, "").strip()
    if not value:
        return DEFAULT_TARGET_LINGER
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_TARGET_LINGER:  # also refuses nan
        raise MtlsformError(
            f"{ENV_TARGET_LINGER}={value!r} must be a number of seconds from 0 to "
            f"{MAX_TARGET_LINGER:g}", hint=f"e.g. {ENV_TARGET_LINGER}=0.005, or 0 to turn it off")
    return seconds


def resolve_region(kind: Kind, region: str | None, environ: Mapping[str, str]) -> str:
    chosen = (region or environ.get(ENV_REGION, "")).strip()
    if chosen:
        return chosen
    if kind == "emulator":
        return DEFAULT_EMULATOR_REGION
    raise MtlsformError(
        "no region for the tencentcloud provider",
        hint=f"set provider.region in the stack (e.g. ap-guangzhou) or {ENV_REGION}")


def cloud_settings(region: str | None, endpoint: str | None,
                   environ: Mapping[str, str]) -> ProviderSettings:
    """Numbers for the real cloud: tasks take seconds, rate limits are 10-20 calls/s."""
    return ProviderSettings(
        kind="tencentcloud",
        region=resolve_region("tencentcloud", region, environ),
        endpoint=parse_endpoint(endpoint) if endpoint else Endpoint(),
        api_timeout=_seconds(environ, ENV_API_TIMEOUT, 60.0),
        task_timeout=_seconds(environ, ENV_TASK_TIMEOUT, 600.0),
        retry_timeout=_seconds(environ, ENV_RETRY_TIMEOUT, 300.0),
        retry_backoff=Backoff(first=0.5, cap=10.0),
        poll_backoff=Backoff(first=0.5, cap=5.0),
        target_linger=_linger(environ),
    )


def emulator_settings(region: str | None, endpoint: str, environ: Mapping[str, str], *,
                      task_delay: float = 0.05) -> ProviderSettings:
    """Numbers for the in-process emulator: tasks take `task_delay` (tens of milliseconds).

    The first poll comes just after a task is due (a fifth of the delay later, half a second
    at most), so most writes need a single poll.
    """
    first_poll = max(0.005, task_delay + min(task_delay * 0.2, 0.5))
    return ProviderSettings(
        kind="emulator",
        region=resolve_region("emulator", region, environ),
        endpoint=parse_endpoint(endpoint),
        api_timeout=_seconds(environ, ENV_API_TIMEOUT, 15.0),
        task_timeout=_seconds(environ, ENV_TASK_TIMEOUT, 60.0),
        retry_timeout=_seconds(environ, ENV_RETRY_TIMEOUT, 60.0),
        retry_backoff=Backoff(first=0.05, cap=0.5),
        poll_backoff=Backoff(first=first_poll, cap=max(0.4, first_poll)),
        target_linger=_linger(environ),
    )
