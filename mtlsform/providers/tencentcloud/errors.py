"""What an API error means: translation of SDK exceptions into ProviderError, and their classes.

This is the one place where `TencentCloudSDKException` becomes `mtlsform.errors.ProviderError`
(code, message, RequestId, action kept), where known secrets are scrubbed from messages, and
where an error is classed as retryable (throttled, busy, network) or as "the object is gone".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mtlsform.errors import ProviderError, QuotaError
from mtlsform.providers.tencentcloud.answers import NOT_THE_API, TLS_FAILED
from mtlsform.providers.tencentcloud.credentials import (
    ENV_SECRET_ID,
    ENV_SECRET_KEY,
    ENV_SESSION_TOKEN,
)
from mtlsform.providers.tencentcloud.settings import ENV_API_TIMEOUT

NETWORK_CODES = frozenset({"ClientNetworkError", "ServerNetworkError"})

# Throttling: the CLB family (RequestLimitExceeded and its sub-codes) and the SSL one.
_THROTTLE_CODES = frozenset({
    "RequestLimitExceeded",
    "LimitExceeded.RateLimitExceeded",  # SSL
    "FailedOperation.RateLimitExceeded",  # CLB, listed in its errorcodes
})

# Another task runs on the same CLB; it will be free again in seconds.
_BUSY_CODES = frozenset({"FailedOperation.ResourceInOperating"})

# Busy CLBs have also been reported under other codes with these messages (Terraform matches the
# same texts; the CLB team never gave them a code of their own).
_BUSY_MESSAGES = (
    "is not in normal status",
    "is not in normal desstate",
    "desstate is abnormal",
    "des status abnormal",
    "your task is working",
    "same wsname is working",
)

# Deleting something that is not there any more is done (Terraform treats these the same way).
GONE_CODES = frozenset({
    "InvalidParameter.LBIdNotFound",
    "InvalidParameter.ListenerIdNotFound",
    "InvalidParameter.LocationNotFound",
    "ResourceNotFound",
    "FailedOperation.CertificateNotFound",
})

_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.S)
_MAX_MESSAGE = 600


def is_throttled(code: str) -> bool:
    return code in _THROTTLE_CODES or code.startswith("RequestLimitExceeded.")


def is_quota(code: str) -> bool:
    """A quota is full (listeners per CLB, rules per listener, CLBs per region...): the same
    call cannot succeed until something is deleted or the quota raised. SSL's
    LimitExceeded.RateLimitExceeded is throttling, not a quota."""
    return (code == "LimitExceeded" or code.startswith("LimitExceeded.")) \
        and code not in _THROTTLE_CODES


def is_busy(code: str, message: str) -> bool:
    if code in _BUSY_CODES:
        return True
    if code.startswith(("InternalError", "AuthFailure", "UnauthorizedOperation")):
        return False
    lowered = message.lower()
    return any(text in lowered for text in _BUSY_MESSAGES)


def is_network(code: str) -> bool:
    return code in NETWORK_CODES


def is_retryable(error: ProviderError) -> bool:
    """Throttled, busy or a network failure; never InternalError, never a parameter error."""
    return (is_throttled(error.code) or is_network(error.code)
            or is_busy(error.code, error.message))


def is_gone(error: ProviderError) -> bool:
    return error.code in GONE_CODES


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Removes private keys (PEM blocks) and the given secret values from a message."""
    cleaned = _PEM_PRIVATE_KEY.sub("(sensitive)", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            cleaned = cleaned.replace(secret, "(sensitive)")
    if len(cleaned) > _MAX_MESSAGE:
        cleaned = cleaned[:_MAX_MESSAGE] + "..."
    return cleaned


def _message_text(raw: object) -> str:
    if isinstance(raw, bytes):  # ServerNetworkError carries the raw HTTP body
        return raw.decode("utf-8", "replace").strip() or "(empty response body)"
    return str(raw) if raw is not None else ""


def translate(exc: Exception, action: str, secrets: Iterable[str] = ()) -> ProviderError:
    """One SDK exception -> one ProviderError with the API's code, message and RequestId."""
    code = str(getattr(exc, "code", "") or type(exc).__name__)
    raw = getattr(exc, "message", str(exc))
    message = scrub(_message_text(raw), secrets)
    if code == "ServerNetworkError" and isinstance(raw, bytes):
        message = f"unexpected HTTP answer: {message}"
    request_id = str(getattr(exc, "requestId", "") or "")
    kind = QuotaError if is_quota(code) else ProviderError
    # No answer of the API came back: a write may have landed all the same.
    unknown = is_network(code) or code == NOT_THE_API
    error = kind(message, code=code, request_id=request_id, action=action, hint=_hint(code),
                 outcome_unknown=unknown)
    raw_detail = getattr(exc, "raw_detail", None)
    if raw_detail:  # the library's own text: in the --debug traceback, never in the message
        error.add_note(f"raw detail: {scrub(str(raw_detail), secrets)}")
    return error


def _hint(code: str) -> str | None:
    if code.startswith("AuthFailure.Signature") or code in ("AuthFailure.SecretIdNotFound",
                                                             "AuthFailure.InvalidSecretId"):
        return (f"check {ENV_SECRET_ID} / {ENV_SECRET_KEY} (or the credentials file) "
                "and the system clock")
    if code == "AuthFailure.TokenFailure":
        return f"{ENV_SESSION_TOKEN} is invalid or expired: get new temporary credentials"
    if code.startswith("UnauthorizedOperation") or code == "AuthFailure.UnauthorizedOperation":
        return "the key's CAM policy does not allow this action on this resource"
    if code == NOT_THE_API:
        return ("is provider.endpoint the Tencent Cloud API? It answers JSON holding a Response "
                "with its RequestId; a captive portal, a proxy or another service answers there")
    if code == TLS_FAILED:
        return ("if the endpoint speaks plain HTTP, write http:// in provider.endpoint; "
                "otherwise check its certificate and any proxy in between")
    if code == "ServerNetworkError":
        return "the endpoint, or a gateway or proxy in front of it, failed: try again later"
    if is_quota(code):
        return ("a quota is full: delete objects or ask for a higher quota (DescribeQuota "
                "shows them); calls of the same kind are not started")
    if code == "ClientNetworkError":
        return ("the API endpoint could not be reached; check provider.endpoint, the network and "
                f"{ENV_API_TIMEOUT}")
    return None
