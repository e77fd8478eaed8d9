"""A write that lands in the cloud but whose answer is lost on the way back (garbage in its
place, a 502 that gets it retried, the connection reset after it) ends the run in one clear
message or in success, and the next honest run converges: it succeeds, a plan after it is
empty, and the cloud holds exactly what the stack describes, nothing duplicated and no SSL
upload orphaned (issue 10, hostile-endpoint test). The answers pass through a real proxy in
front of a served emulator of the stack's world; the real SDK calls it."""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, EmulatorConfig
from tests.engine.every_call import SCENARIOS, Bench, Figures, Scenario

EMULATED = re.compile(r"^provider:\n  kind: emulator[^\n]*\n", re.M)
GARBAGE = b"<html><body>502 Bad Gateway, or a captive portal</body></html>"

# How the answer to the Nth write is lost: (what the client gets, whether it is retried).
LOSSES = {
    "garbage": "an HTML page in place of the answer: not retried",
    "502": "a gateway error: retried, so the write is sent again",
    "reset": "the connection reset after the write landed: retried",
}


class LossyProxy:
    """Forwards every call to the emulator; the answer of the `lose_at`th write (an action
    that is not a Describe*) is lost as LOSSES[`how`] says, once."""

    def __init__(self, upstream: str, how: str, lose_at: int) -> None:
        self.upstream = upstream
        self.how = how
        self.lose_at = lose_at
        self.writes = 0
        self.lost: str | None = None  # the action whose answer was lost
        self._lock = threading.Lock()

    def _forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        host, port = self.upstream.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def _loses(self, action: str) -> bool:
        if action.startswith("Describe"):
            return False
        with self._lock:
            self.writes += 1
            if self.writes == self.lose_at:
                self.lost = action
                return True
            return False

    @contextmanager
    def serving(self) -> Iterator[str]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                action = self.headers.get("X-TC-Action", "")
                status, answer = proxy._forward(self.path, body, dict(self.headers.items()))
                if proxy._loses(action):
                    self._lose()
                    return
                self._answer(status, "application/json", answer)

            def _lose(self) -> None:
                if proxy.how == "garbage":
                    self._answer(200, "text/html", GARBAGE)
                elif proxy.how == "502":
                    self._answer(502, "text/html", GARBAGE)
                else:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()

            def _answer(self, status: int, content_type: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def finish(self) -> None:
                with suppress(OSError):
                    super().finish()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def _cases() -> list[Any]:
    chosen = [s for s in SCENARIOS if not s.renewal]  # a saved plan records its provider
    return [pytest.param(scenario, how, id=f"{scenario.name}-{how}")
            for scenario in chosen for how in LOSSES
            if how == "garbage" or scenario.name in ("create", "rotation-sni-off", "destroy")]


@pytest.mark.parametrize(("scenario", "how"), _cases())
def test_a_write_whose_answer_is_lost_converges_on_the_next_run(
        scenario: Scenario, how: str, workdir, cli, monkeypatch, record_property):
    bench = Bench(scenario, workdir, cli, monkeypatch)
    calls = bench.prepare()
    stack = workdir / bench.stack
    honest = stack.read_text()
    assert EMULATED.search(honest), "the stack does not use the embedded emulator"
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
    monkeypatch.setenv("MTLSFORM_RETRY_TIMEOUT", "10")
    figures = Figures(f"{scenario.name} ({how})", calls)
    for n in range(1, len(calls) + 1):
        bench.restore()
        proxy = LossyProxy("", how, n)
        world = EmulatorConfig(data_dir=bench.data / "emulator", task_delay=0.01,
                               rate_limit=None)
        with Emulator(world) as emulator:
            proxy.upstream = emulator.endpoint
            with proxy.serving() as url:
                stack.write_text(EMULATED.sub(
                    f"provider:\n  kind: tencentcloud\n  endpoint: {url}\n", honest))
                lossy = cli(*bench.change_args())
        stack.write_text(honest)
        where = f"the answer to write {n} ({proxy.lost}) lost as {how}"
        if proxy.lost is None:
            figures.absent += 1  # merged target writes: this run made fewer writes
            continue
        figures.tried += 1
        assert "Traceback" not in lossy.text and "internal error" not in lossy.text, lossy.text
        if lossy.code != 0:
            assert lossy.code == 1, f"{where}: {lossy.text}"
            assert "failed:" in lossy.err or lossy.err.count("error:") == 1, lossy.err
            if how == "garbage" and "failed:" in lossy.err:  # the write may have landed
                assert "the next run looks for it in the cloud" in lossy.err, lossy.err
        problems = bench.converge()
        if problems:
            figures.failures.append(f"{where}: " + "; ".join(problems))
        else:
            figures.converged += 1
    summary = figures.line(f"{figures.tried} lost answers")
    record_property("figures", summary)
    print(summary)
    assert figures.tried, "no write's answer was lost"
    assert not figures.failures, "\n".join(figures.failures)
