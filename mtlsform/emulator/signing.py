"""TC3-HMAC-SHA256, the API 3.0 signature: building it (for clients and tests) and checking one.

The check rebuilds the canonical request from the headers the client lists in `SignedHeaders`
(names and values lower-cased and trimmed, sorted), hashes the raw body, and compares the
signature in constant time. Each failure has its own `AuthFailure.*` code.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from mtlsform.emulator.apierror import ApiError

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AUTH_RE = re.compile(r"^TC3-HMAC-SHA256 +Credential=([^,\s]+) *, *"
                      r"SignedHeaders=([^,\s]+) *, *Signature=([^,\s]+) *$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEADER_NAME_RE = re.compile(r"^[a-z0-9-]+$")
# Parameters only a v1 (HmacSHA1/HmacSHA256) request carries.
V1_PARAMETERS = ("Signature", "SignatureMethod", "Nonce", "SecretId")

SIGNATURE_FAILURE = (
    "The provided credentials could not be validated. Please check your signature is correct.")


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers: method, path, raw query, headers (lower-case names), body."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def payload_hash(body: bytes, *, unsigned: bool = False) -> str:
    return hashlib.sha256(UNSIGNED_PAYLOAD.encode() if unsigned else body).hexdigest()


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str],
                      signed_headers: tuple[str, ...], hashed_payload: str) -> str:
    lines = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n"
                    for name in sorted(signed_headers))
    return "\n".join([method, path, query, lines, ";".join(sorted(signed_headers)),
                      hashed_payload])


def string_to_sign(timestamp: int, date: str, service: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature(secret_key: str, date: str, service: str, to_sign: str) -> str:
    def step(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    k_signing = step(step(step(("TC3" + secret_key).encode("utf-8"), date), service),
                     "tc3_request")
    return hmac.new(k_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(secret_id: str, secret_key: str, service: str, timestamp: int,
                         request: SignedRequest, signed_headers: tuple[str, ...] = (
                             "content-type", "host")) -> str:
    """The Authorization header a client sends for `request` (as the official SDK builds it)."""
    date = utc_date(timestamp)
    unsigned = request.headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD
    canonical = canonical_request(request.method, request.path, request.query, request.headers,
                                  signed_headers, payload_hash(request.body, unsigned=unsigned))
    sig = signature(secret_key, date, service, string_to_sign(timestamp, date, service, canonical))
    return (f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders={';'.join(sorted(signed_headers))}, Signature={sig}")


def parse_authorization(value: str) -> Authorization:
    match = _AUTH_RE.match(value.strip())
    if not match:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header does not conform to the Tencent Cloud standard: expected "
            "`TC3-HMAC-SHA256 Credential=<SecretId>/<Date>/<service>/tc3_request, "
            "SignedHeaders=<headers>, Signature=<hex>`.")
    credential, signed, sig = match.groups()
    parts = credential.split("/")
    if len(parts) != 4 or parts[3] != "tc3_request" or not _DATE_RE.match(parts[1]) \
            or not parts[2]:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "The Credential of the Authorization header must be "
                       "<SecretId>/<YYYY-MM-DD>/<service>/tc3_request.")
    names = tuple(signed.split(";"))
    if not all(_HEADER_NAME_RE.match(name) for name in names) \
            or not {"content-type", "host"} <= set(names):
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "SignedHeaders must list lower-case header names separated by `;` and "
                       "include content-type and host.")
    if not re.fullmatch(r"[0-9a-f]{64}", sig):
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "The Signature of the Authorization header must be 64 lower-case hex "
                       "digits.")
    return Authorization(parts[0], parts[1], parts[2], names, sig)


def verify(request: SignedRequest, credentials: Mapping[str, str], now: float) -> Authorization:
    """Checks a request's TC3 signature; returns the parsed Authorization or raises ApiError."""
    header = request.headers.get("authorization")
    if header is None:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "The request has no Authorization header.")
    auth = parse_authorization(header)
    raw_ts = request.headers.get("x-tc-timestamp")
    if raw_ts is None:
        raise ApiError("MissingParameter",
                       "The request is missing a required parameter `Timestamp`.")
    if not re.fullmatch(r"\d{1,12}", raw_ts.strip()):
        raise ApiError("InvalidParameter",
                       "The parameter `Timestamp` must be Unix time in seconds.")
    timestamp = int(raw_ts.strip())
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise ApiError("AuthFailure.SignatureExpire",
                       f"Signature expired: the request timestamp {timestamp} differs from the "
                       f"server time {int(now)} by more than 5 minutes. Check the local clock.")
    if not auth.secret_id.isprintable() or not auth.secret_id.isascii():
        raise ApiError("AuthFailure.InvalidSecretId", "The SecretId is not a cloud API key.")
    secret_key = credentials.get(auth.secret_id)
    if secret_key is None:
        raise ApiError("AuthFailure.SecretIdNotFound",
                       "The SecretId is not found, please ensure that your SecretId is correct.")
    if auth.date != utc_date(timestamp):
        raise ApiError("AuthFailure.SignatureFailure",
                       f"{SIGNATURE_FAILURE} The credential date {auth.date} is not the UTC date "
                       "of X-TC-Timestamp.")
    absent = [name for name in auth.signed_headers if name not in request.headers]
    if absent:
        raise ApiError("AuthFailure.SignatureFailure",
                       f"{SIGNATURE_FAILURE} Signed header `{absent[0]}` is not in the request.")
    unsigned = request.headers.get("x-tc-content-sha256", "").strip() == UNSIGNED_PAYLOAD
    query = request.query if request.method == "GET" else ""
    canonical = canonical_request(request.method, request.path, query, request.headers,
                                  auth.signed_headers,
                                  payload_hash(request.body, unsigned=unsigned))
    expected = signature(secret_key, auth.date, auth.service,
                         string_to_sign(timestamp, auth.date, auth.service, canonical))
    if hmac.compare_digest(expected, auth.signature):
        return auth
    bare = _without_port(request.headers.get("host", ""))
    if "host" in auth.signed_headers and bare is not None:
        # SDKs of other languages (Node.js) sign the host name without the port the request
        # was sent to: the cloud listens on 443, so it never sees the difference.
        headers = {**request.headers, "host": bare}
        canonical = canonical_request(request.method, request.path, query, headers,
                                      auth.signed_headers,
                                      payload_hash(request.body, unsigned=unsigned))
        expected = signature(secret_key, auth.date, auth.service,
                             string_to_sign(timestamp, auth.date, auth.service, canonical))
        if hmac.compare_digest(expected, auth.signature):
            return auth
    raise ApiError("AuthFailure.SignatureFailure", SIGNATURE_FAILURE)


def _without_port(host: str) -> str | None:
    """`name` of a `name:port` Host header (IPv6 `[::1]:port` too), else None."""
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):\d{1,5}", host.strip())
    return match.group(1) if match else None
