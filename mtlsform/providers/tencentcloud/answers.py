"""What came back over HTTP: an answer of the API, or one clear error that says what it was.

The Tencent Cloud API answers every call with HTTP 200 and a JSON object holding a `Response`
object with its `RequestId` (and an `Error` with a `Code` when the call failed). The SDK takes
that shape for granted: HTML, a truncated body, `null` or a proxy's error page reach it as a bare
JSONDecodeError, KeyError or TypeError, and an `Error` served under another content type even
passes as a success. So every SDK client of the provider is checked (see clients.py): its HTTP
answer is read here, bounded in size and in time, and examined before the SDK parses it.

What an answer that is not the API's becomes (as SDK exceptions, translated in errors.py):
- HTTP 5xx or 429 (a gateway or proxy failing): `ServerNetworkError`, retried as a network error;
- any other status, or a 200 whose body is not an API answer: `NotTheApi`, never retried;
- a body that does not arrive in time, or stops before its end: `ClientNetworkError`, retried;
- a failed TLS handshake (an https:// endpoint speaking plain HTTP, a certificate that does not
  verify): `TlsFailed`, never retried.
Each message names the endpoint and says what came back in a few safe words: the status, the
content type, the size and the first characters, escaped, with secrets, the request's signature
and private keys removed before they are cut short.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mtlsform.providers.tencentcloud.settings import ENV_API_TIMEOUT

NOT_THE_API = "NotTheApi"
TLS_FAILED = "TlsFailed"
SERVER_FAILED = "ServerNetworkError"  # the SDK's code for a non-200 answer
NETWORK_FAILED = "ClientNetworkError"  # the SDK's code for a request that got no answer

EXAMINED = "application/json; examined=mtlsform"  # an answer AnswerCheck has examined
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # far above the largest page of the API
PREVIEW_CHARS = 120
_READ_SIZE = 64 * 1024

_SIGNATURE = re.compile(r"(Signature=)[0-9A-Fa-f]+")
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.S)
_SPACES = re.compile(r"\s+")


class AnswerFailure(Exception):
    """An answer that is not the API's: `code` is one of the codes above."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read in full."""

    endpoint: str  # scheme://host[:port]
    status: int
    reason: str
    content_type: str
    body: bytes


def endpoint_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def read_body(raw: Any, *, timeout: float, clock: Callable[[], float] = time.monotonic) -> bytes:
    """The whole body from `raw` (urllib3's response), at most MAX_ANSWER_BYTES, within
    `timeout` seconds even when it trickles in a byte at a time."""
    deadline = clock() + timeout
    read = getattr(raw, "read1", None) or raw.read
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = read(_READ_SIZE, decode_content=True)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise AnswerFailure(NOT_THE_API, f"an answer larger than {MAX_ANSWER_BYTES} bytes")
        parts.append(chunk)
        if clock() > deadline:
            raise AnswerFailure(NETWORK_FAILED,
                                f"the answer was still arriving after {timeout:g} s "
                                f"({size} bytes; {ENV_API_TIMEOUT})")


def _api_problem(body: bytes) -> tuple[str | None, Any]:
    """(why `body` is not an API answer, None), or (None, the decoded answer)."""
    try:
        document = json.loads(body)
    except ValueError:  # not JSON, truncated JSON, or not UTF-8
        return ("not JSON" if body.strip() else "an empty body"), None
    if not isinstance(document, dict):
        return f"{_json_kind(document)}, not an object", None
    response = document.get("Response")
    if not isinstance(response, dict):
        return "a JSON object without a Response object", None
    request_id = response.get("RequestId")
    if not isinstance(request_id, str) or not request_id:
        return "a Response without its RequestId", None
    error = response.get("Error")
    if error is not None and (not isinstance(error, dict) or not isinstance(error.get("Code"), str)
                              or not error.get("Code")):
        return "an Error without its Code", None
    return None, document


def _json_kind(value: Any) -> str:
    if value is None:
        return "JSON null"
    if isinstance(value, bool):
        return f"JSON {'true' if value else 'false'}"
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, str):
        return "a JSON string"
    return "a JSON number"


def preview(body: bytes, secrets: Iterable[str] = ()) -> str:
    """The first characters of a body, secrets removed first, escaped and cut short."""
    text = body.decode("utf-8", "replace")
    text = _PEM_PRIVATE_KEY.sub("(sensitive)", text)
    text = _SIGNATURE.sub(r"\1(sensitive)", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "(sensitive)")
    text = _SPACES.sub(" ", text).strip()
    cut = text[:PREVIEW_CHARS]
    escaped = cut.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return escaped + ("..." if len(text) > PREVIEW_CHARS else "")


def describe(answer: Answer, secrets: Iterable[str] = ()) -> str:
    """e.g. `HTTP 200 OK, text/html, 39 bytes: '<html>...'`."""
    status = f"HTTP {answer.status}{' ' + answer.reason if answer.reason else ''}"
    kind = answer.content_type or "no content type"
    if not answer.body:
        return f"{status}, {kind}, an empty body"
    return f"{status}, {kind}, {len(answer.body)} bytes: '{preview(answer.body, secrets)}'"


def failure(answer: Answer, secrets: Iterable[str] = ()) -> AnswerFailure | None:
    """What is wrong with an answer (None: it is the API's, success or error)."""
    return _examined(answer, secrets)[0]


def _examined(answer: Answer, secrets: Iterable[str]) -> tuple[AnswerFailure | None, Any]:
    """(what is wrong, None) or (None, the decoded answer). The body is decoded once, and
    described (a preview with the secrets removed) only when something is wrong."""
    def said() -> str:
        return f"{answer.endpoint} answered {describe(answer, secrets)}"

    if answer.status == 429 or 500 <= answer.status <= 599:
        return AnswerFailure(SERVER_FAILED, said()), None
    if answer.status != 200:
        return AnswerFailure(NOT_THE_API, f"{said()}, which is not an answer of the API"), None
    problem, document = _api_problem(answer.body)
    if problem is not None:
        return AnswerFailure(NOT_THE_API, f"{said()}, which is not an answer of the API "
                                          f"({problem})"), None
    return None, document


def api_error(body: bytes) -> tuple[str, str, str] | None:
    """(Code, Message, RequestId) of an API answer that is an error; None for a success."""
    return _error_of(json.loads(body))


def _error_of(document: Any) -> tuple[str, str, str] | None:
    response = document["Response"]
    error = response.get("Error")
    if error is None:
        return None
    return str(error["Code"]), str(error.get("Message") or ""), str(response["RequestId"])


class AnswerCheck:
    """Sends one SDK request and checks what came back; raises the SDK's exception type (so the
    SDK lets it through untouched) with one of the codes above, or the API's own error."""

    def __init__(self, timeout: float, secrets: Iterable[str] = (), endpoint: str = "") -> None:
        self._timeout = timeout
        self._secrets = tuple(secrets)
        self._endpoint = endpoint  # scheme://host of the service, for messages

    def send(self, request: Callable[[], Any]) -> Any:
        """`request()` is the SDK's raw send (a `requests.Response`, body not read yet)."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        try:
            response = request()
            secrets = self._secrets + _request_secrets(response)
            answer = Answer(endpoint=endpoint_of(str(response.url)),
                            status=int(response.status_code), reason=str(response.reason or ""),
                            content_type=str(response.headers.get("Content-Type") or ""),
                            body=self._read(response))
        except TencentCloudSDKException as exc:
            raise _network_failure(exc, self._timeout, self._endpoint,
                                   TencentCloudSDKException) from None
        except AnswerFailure as bad:
            raise TencentCloudSDKException(bad.code, bad.message) from None
        problem, document = _examined(answer, secrets)
        if problem is not None:
            raise TencentCloudSDKException(problem.code, problem.message)
        error = _error_of(document)
        if error is not None:  # whatever its content type (the SDK only looks at JSON ones)
            raise TencentCloudSDKException(*error)
        response._content = answer.body  # what the SDK reads next
        # Examined here, errors raised: the SDK's own error check would decode the whole body
        # once more (it does so only for these exact content types), a third of a large
        # read's decoding. Its parse of the answer is unchanged.
        if response.headers.get("Content-Type") in ("application/json", "text/plain"):
            response.headers["Content-Type"] = EXAMINED
        return response

    def _read(self, response: Any) -> bytes:
        import http.client

        import requests
        import urllib3

        broken = (requests.RequestException, urllib3.exceptions.HTTPError,
                  http.client.HTTPException, OSError)
        try:
            body = read_body(response.raw, timeout=self._timeout)
        except broken as exc:  # a connection cut mid-body, a bad chunk, a read timeout
            response.close()
            where = endpoint_of(str(response.url))
            raise AnswerFailure(NETWORK_FAILED, f"the answer of {where} broke off: "
                                                f"{_broken_off(exc)}") from None
        except AnswerFailure as bad:
            response.close()
            raise AnswerFailure(bad.code, f"{endpoint_of(str(response.url))}: {bad.message}") \
                from None
        response._content_consumed = True  # read to its end: the connection can be reused
        response.close()
        return body


def _request_secrets(response: Any) -> tuple[str, ...]:
    """The signature and session token of the request that got this answer (an echo must not
    print them)."""
    headers = getattr(getattr(response, "request", None), "headers", None) or {}
    found: list[str] = []
    authorization = str(headers.get("Authorization") or "")
    if "Signature=" in authorization:
        found.append(authorization.rsplit("Signature=", 1)[1])
    token = headers.get("X-TC-Token")
    if token:
        found.append(str(token))
    return tuple(found)


def _network_failure(exc: Any, timeout: float, endpoint: str,
                     sdk_error: type[Exception]) -> Exception:
    """`_network_words`, keeping the library's own text as `raw_detail` (errors.translate puts
    it where only --debug shows it)."""
    failure = _network_words(exc, timeout, endpoint, sdk_error)
    cause = exc.__context__
    if failure is not exc and cause is not None:
        failure.raw_detail = _short(cause)  # type: ignore[attr-defined]
    return failure


def _network_words(exc: Any, timeout: float, endpoint: str,
                   sdk_error: type[Exception]) -> Exception:
    """The SDK's ClientNetworkError (it wraps whatever `requests` raised) in our own words:
    what happened, where, and for a timeout the setting that bounds it."""
    import requests

    cause = exc.__context__
    if cause is None:
        return exc  # type: ignore[no-any-return]
    where = endpoint or "the API endpoint"
    if isinstance(cause, requests.exceptions.SSLError):
        return sdk_error(TLS_FAILED, f"the TLS handshake with {where} failed: {_tls_reason(cause)}")
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return sdk_error(NETWORK_FAILED, f"{where} did not accept a connection within "
                                         f"{timeout:g} s ({ENV_API_TIMEOUT})")
    if isinstance(cause, requests.exceptions.Timeout):
        return sdk_error(NETWORK_FAILED, f"{where} sent no answer within {timeout:g} s "
                                         f"({ENV_API_TIMEOUT})")
    return sdk_error(NETWORK_FAILED, f"{where} {_connection_failure(cause)}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it was made from (causes, contexts, exceptions among its arguments and
    urllib3's `reason`), breadth first, each once."""
    queue: list[BaseException] = [exc]
    seen: set[int] = set()
    while queue and len(seen) < 32:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None),
                  *current.args]
        queue.extend(item for item in linked if isinstance(item, BaseException))


def _connection_failure(exc: BaseException) -> str:
    """What a failed exchange was, as a phrase after the endpoint."""
    import http.client
    import socket

    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "refused the connection: nothing listens there"
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return "could not be found: its host name does not resolve"
        if isinstance(cause, http.client.RemoteDisconnected):  # a kind of reset: first
            return "closed the connection without answering"
        if isinstance(cause, ConnectionResetError):
            return "reset the connection before answering"
        if isinstance(cause, TimeoutError):
            return "did not answer in time"
    return f"could not be reached: {_short(exc)}"


def _broken_off(exc: BaseException) -> str:
    import http.client

    for cause in _causes(exc):
        if isinstance(cause, http.client.IncompleteRead):  # urllib3's holds counts
            partial = cause.partial if isinstance(cause.partial, int) else len(cause.partial)
            expected = partial + (cause.expected or 0)
            return f"{partial} of {expected} bytes arrived, then the connection closed"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset"
        if isinstance(cause, TimeoutError):
            return "nothing more arrived in time"
    return _short(exc)


_SSL_REASON = re.compile(r"\[SSL: ([A-Z_]+)\] ([^(]*?)\s*\(_ssl")


def _tls_reason(exc: BaseException) -> str:
    """The OpenSSL reason of a failed handshake, with what it usually means."""
    found = _SSL_REASON.search(str(exc))
    if found is None:
        return _short(exc)
    reason, words = found.group(1), found.group(2).strip()
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
        return f"{words}: the server does not speak TLS (plain HTTP?)"
    return words


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."
