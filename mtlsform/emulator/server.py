"""The HTTP front end: API 3.0 calls on `/` and the `/_emulator/*` tool endpoints.

Every API answer is HTTP 200 with `Content-Type: application/json` exactly (the SDK looks for
errors only then) and the `{"Response": {..., "RequestId"}}` envelope, whatever arrives: bad
methods, paths, headers, bodies and signatures all get an error envelope, never a traceback.
Tool endpoints: GET /_emulator/stats, GET /_emulator/world (private keys redacted),
GET /_emulator/health, POST /_emulator/reset-stats.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from mtlsform.emulator import signing, worldfile
from mtlsform.emulator.apierror import INTERNAL_ERROR_MESSAGE, ApiError
from mtlsform.emulator.dispatch import Api

MAX_BODY = 10 * 1024 * 1024  # POST with a v3 signature: up to 10 MB
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: `\d` and str.isdigit() take other digits
V1_CODE = "AuthFailure.SignatureMethodNotSupported"


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: Api, credentials: dict[str, str],
                 token: Callable[[], str | None], tls: ssl.SSLContext | None = None):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, ApiHandler)
        self.api = api
        self.credentials = credentials
        self.token = token
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            try:
                request.settimeout(30)
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level failures (a client hanging up) are not worth a traceback."""


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """GET parameters `A.0.B=x` -> {"A": [{"B": "x"}]} (the SDK's flattening, reversed)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        node = root
        for index, part in enumerate(parts):
            if not part:
                raise ApiError("InvalidParameter", f"The parameter name `{key}` is malformed.")
            if index == len(parts) - 1:
                if part in node:
                    raise ApiError("InvalidParameter", f"The parameter `{key}` is given twice.")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ApiError("InvalidParameter", f"The parameter `{key}` is malformed.")
                node = child
    flattened: dict[str, Any] = _lists(root, "")
    return flattened


def _lists(node: Any, path: str) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(_DIGITS.fullmatch(key) for key in node):
        indexes = sorted(int(key) for key in node)
        if indexes != list(range(len(indexes))):
            raise ApiError("InvalidParameter", f"The list `{path}` has gaps in its indexes.")
        return [_lists(node[str(i)], f"{path}.{i}") for i in indexes]
    return {key: _lists(value, f"{path}.{key}".lstrip(".")) for key, value in node.items()}


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mtlsform-emulator"
    sys_version = ""
    timeout = 60
    disable_nagle_algorithm = True  # small answers must not wait for a delayed ACK
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_POST

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, huge headers) still gets a 200 error envelope."""
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # answer with headers even to a garbled request line
        text = f"The HTTP request is malformed ({code} {message or ''})".strip()
        self._send(self._error(str(uuid.uuid4()), ApiError("InvalidRequest", text + ".")))

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            self.close_connection = True

    @staticmethod
    def _error(request_id: str, exc: ApiError) -> dict[str, Any]:
        return {"Response": {"Error": {"Code": exc.code, "Message": exc.message},
                             "RequestId": request_id}}

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), value)
        return headers

    def _content_length(self, headers: dict[str, str]) -> int:
        """The Content-Length, ASCII digits only (str.isdigit() also takes '²', int() not)."""
        raw = headers.get("content-length", "0").strip(" \t") or "0"
        if not _DIGITS.fullmatch(raw) or len(raw) > 18:
            self.close_connection = True
            raise ApiError("InvalidRequest",
                           "The Content-Length header is not a number of ASCII digits.")
        return int(raw)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.close_connection = True
            raise ApiError("UnsupportedProtocol",
                           "Chunked request bodies are not supported; send Content-Length.")
        length = self._content_length(headers)
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError("RequestSizeLimitExceeded",
                           f"The request body is {length} bytes; at most {MAX_BODY} are allowed.")
        try:
            body = self.rfile.read(length) if length else b""
        except OSError:  # the client stalled past the timeout or hung up
            body = b""
        if len(body) != length:
            self.close_connection = True
            raise ApiError("InvalidRequest", "The request body is shorter than Content-Length.")
        return body

    def _handle(self) -> None:
        request_id = str(uuid.uuid4())
        path, _, query = self.path.partition("?")
        if path.startswith("/_emulator/"):
            self._tool(path)
            return
        api = self.server.api
        action = "(unknown)"
        try:
            headers = self._headers()
            raw_action = headers.get("x-tc-action", "")
            if raw_action.isascii() and raw_action.isalnum() and len(raw_action) <= 64:
                action = raw_action
            body = self._read_body(headers)
            result = self._call(request_id, path, query, headers, body)
            payload = {"Response": {**result, "RequestId": request_id}}
            api.stats.record(action, None)
        except ApiError as exc:
            payload = self._error(request_id, exc)
            api.stats.record(action, exc.code)
        except Exception:  # a bug: answer InternalError, keep the trace for the stats endpoint
            payload = self._error(request_id, ApiError("InternalError", INTERNAL_ERROR_MESSAGE))
            api.stats.record(action, "InternalError", traceback.format_exc(limit=6))
        self._send(payload)

    def _call(self, request_id: str, path: str, query: str, headers: dict[str, str],
              body: bytes) -> dict[str, Any]:
        method = self.command
        if method not in ("POST", "GET"):
            raise ApiError("UnsupportedProtocol",
                           f"HTTP method {method} is not supported; use POST (or GET).")
        if path != "/":
            raise ApiError("UnsupportedProtocol",
                           "API requests go to the path `/`; this path is not served.")
        if "authorization" not in headers:
            form = parse_qsl(query if method == "GET" else body.decode("utf-8", "replace"),
                             keep_blank_values=True)
            if any(name in signing.V1_PARAMETERS for name, _ in form):
                raise ApiError(V1_CODE,
                               "Signature method v1 (HmacSHA1/HmacSHA256) is not supported by "
                               "the emulator; sign requests with TC3-HMAC-SHA256.")
        request = signing.SignedRequest(method, path, query, headers, body)
        auth = signing.verify(request, self.server.credentials, time.time())
        expected_token = self.server.token()
        if expected_token is not None and headers.get("x-tc-token") != expected_token:
            raise ApiError("AuthFailure.TokenFailure", "The X-TC-Token is missing or invalid.")
        strings = method == "GET"
        if strings:
            params: Any = unflatten(parse_qsl(query, keep_blank_values=True))
        else:
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                raise ApiError("InvalidParameter",
                               f"Content-Type `{media}` is not supported for POST with "
                               "TC3-HMAC-SHA256; send application/json.")
            try:
                params = json.loads(body.decode("utf-8")) if body.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                raise ApiError("InvalidParameter",
                               "The request body is not valid UTF-8 JSON.") from None
            if not isinstance(params, dict):
                raise ApiError("InvalidParameter", "The request body must be a JSON object.")
        return self.server.api.call(
            version=headers.get("x-tc-version"), action=headers.get("x-tc-action"),
            scope_service=auth.service, region=headers.get("x-tc-region"), params=params,
            request_id=request_id, strings=strings)

    def _tool(self, path: str) -> None:
        api = self.server.api
        try:
            length = self._content_length(self._headers())
        except ApiError as exc:
            self._send(self._error(str(uuid.uuid4()), exc))
            return
        with contextlib.suppress(OSError):
            self.rfile.read(min(length, MAX_BODY))
        if path == "/_emulator/stats" and self.command == "GET":
            payload: dict[str, Any] = api.report()
        elif path == "/_emulator/world" and self.command == "GET":
            payload = worldfile.public_view(api.world.snapshot())
        elif path == "/_emulator/health" and self.command == "GET":
            payload = {"status": "ok", "world_version": api.world.version}
        elif path == "/_emulator/reset-stats" and self.command == "POST":
            api.stats.reset()
            payload = {"reset": True}
        else:
            payload = self._error(str(uuid.uuid4()), ApiError(
                "ResourceNotFound", "Tool endpoints: GET /_emulator/stats, GET /_emulator/world, "
                "GET /_emulator/health, POST /_emulator/reset-stats."))
        self._send(payload)
