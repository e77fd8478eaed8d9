"""An endpoint that is not the API (HTML, truncated JSON, null, a list, no Response, no
RequestId, HTTP 5xx, a 404 page) gets one clear ProviderError naming what came back, with a
hint, never a bare JSONDecodeError/KeyError/TypeError; garbage is not retried, 5xx are, within
the bounded network attempts. A real local HTTP server answers; the real SDK calls it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mtlsform.errors import ProviderError
from mtlsform.providers import open_provider
from mtlsform.stack.model import ProviderConfig

SECRET_ID = "AKIDhostileTest0001"
SECRET_KEY = "hostile-test-secret-key"

# name: (status, content type, body, expected code, retried)
BEHAVIOURS: dict[str, tuple[int, str, bytes, str, bool]] = {
    "captive portal html": (200, "text/html", b"<html><body>Log in to the Wi-Fi</body></html>",
                            "NotTheApi", False),
    "truncated json": (200, "application/json", b'{"Response": {"TotalCount": 1, "LoadBal',
                       "NotTheApi", False),
    "null": (200, "application/json", b"null", "NotTheApi", False),
    "a list": (200, "application/json", b"[1, 2]", "NotTheApi", False),
    "no Response": (200, "application/json", b'{"Result": {}}', "NotTheApi", False),
    "Response not an object": (200, "application/json", b'{"Response": "x"}', "NotTheApi", False),
    "no RequestId": (200, "application/json",
                     b'{"Response": {"TotalCount": 0, "LoadBalancerSet": []}}', "NotTheApi", False),
    "error without RequestId": (200, "application/json",
                                b'{"Response": {"Error": {"Code": "X", "Message": "y"}}}',
                                "NotTheApi", False),
    "error as text/html": (200, "text/html", b'{"Response": {"Error": {"Code": "Weird.Code", '
                           b'"Message": "huh"}, "RequestId": "r-1"}}', "Weird.Code", False),
    "404 page": (404, "text/html", b"<h1>Not Found</h1>", "NotTheApi", False),
    "500 empty": (500, "text/plain", b"", "ServerNetworkError", True),
    "502 html": (502, "text/html", b"<html>Bad gateway</html>", "ServerNetworkError", True),
}


@contextmanager
def hostile(status: int, content_type: str, body: bytes) -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_an_answer_that_is_not_the_api_is_one_clear_error(name: str, tmp_path: Path) -> None:
    status, content_type, body, code, retried = BEHAVIOURS[name]
    env = {"HOME": str(tmp_path), "TENCENTCLOUD_SECRET_ID": SECRET_ID,
           "TENCENTCLOUD_SECRET_KEY": SECRET_KEY, "MTLSFORM_RETRY_TIMEOUT": "30"}
    with hostile(status, content_type, body) as (url, received):
        config = ProviderConfig(kind="tencentcloud", region="ap-guangzhou", endpoint=url)
        with open_provider(config, emulator_data_dir=None, environ=env) as (provider, _), \
                pytest.raises(ProviderError) as caught:
            provider.read_load_balancers(["lb-12345678"])
    error = caught.value
    assert error.code == code
    # no answer of the API came back: a write may have landed, so its intent is kept
    assert error.outcome_unknown is (code != "Weird.Code")
    text = f"{error} {error.hint}"
    assert SECRET_ID not in text and SECRET_KEY not in text and "Signature" not in text
    if code == "NotTheApi":
        assert url in error.message and f"HTTP {status}" in error.message
        assert "provider.endpoint" in (error.hint or "")
    if retried:
        assert len(received) == 5  # the bounded network attempts, then one error
    else:
        assert len(received) == 1
