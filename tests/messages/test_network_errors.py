"""A cloud that cannot be reached is one human line (main's words, providers/tencentcloud/
answers.py); the library's own text (urllib3's pool and retry wording) only under --debug."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.conftest import edit

EXAMPLE = "stacks/example.yaml"
EMULATED = ("provider:\n"
            "  kind: emulator               # emulator (embedded default) | tencentcloud\n")


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _point_at(workdir: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    edit(workdir / EXAMPLE, EMULATED, f"provider:\n  kind: tencentcloud\n  endpoint: {endpoint}\n")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDmessagestest")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "messages-test-secret-key")
    monkeypatch.setenv("MTLSFORM_RETRY_TIMEOUT", "0.2")


def test_connection_refused_is_one_human_line(workdir, cli, monkeypatch, refused_port):
    _point_at(workdir, f"http://127.0.0.1:{refused_port}", monkeypatch)
    result = cli("plan", EXAMPLE)
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0] == (f"error: DescribeLoadBalancers: ClientNetworkError: http://127.0.0.1:"
                        f"{refused_port} refused the connection: nothing listens there")
    assert lines[1].startswith("  hint: ")
    assert len(lines) == 2
    for raw in ("HTTPConnectionPool", "Max retries", "NewConnectionError", "Errno"):
        assert raw not in result.text


def test_the_raw_detail_is_shown_under_debug(workdir, cli, monkeypatch, refused_port):
    _point_at(workdir, f"http://127.0.0.1:{refused_port}", monkeypatch)
    result = cli("--debug", "plan", EXAMPLE)
    assert result.code == 1
    assert (f"raw detail: HTTPConnectionPool(host='127.0.0.1', port={refused_port}): Max "
            "retries exceeded") in result.err
    assert "messages-test-secret-key" not in result.text


def test_an_unknown_host_says_it_could_not_be_resolved(workdir, cli, monkeypatch):
    _point_at(workdir, "http://mtlsform-test.invalid:9", monkeypatch)
    result = cli("plan", EXAMPLE)
    assert result.err.splitlines()[0] == (
        "error: DescribeLoadBalancers: ClientNetworkError: http://mtlsform-test.invalid:9 could "
        "not be found: its host name does not resolve")
    assert "HTTPConnectionPool" not in result.text
    debug = cli("--debug", "plan", EXAMPLE)
    assert "raw detail: HTTPConnectionPool(host='mtlsform-test.invalid', port=9)" in debug.err
