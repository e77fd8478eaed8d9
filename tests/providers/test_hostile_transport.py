"""An endpoint that misbehaves below HTTP (never answers, trickles, resets, closes, cuts the
body short, speaks plain HTTP to a TLS client, refuses connections) gets one ProviderError in
our own words naming the endpoint, after a bounded number of attempts; never a library's
exception text. A real local server misbehaves; the real SDK calls it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mtlsform.errors import ProviderError
from mtlsform.providers import open_provider
from mtlsform.stack.model import ProviderConfig
from tests.providers.hostile_transport import API_TIMEOUT, TRANSPORTS, misbehaving
from tests.providers.test_hostile_answers import SECRET_ID, SECRET_KEY

NETWORK_ATTEMPTS = 5  # ProviderSettings.network_attempts


def _environment(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "TENCENTCLOUD_SECRET_ID": SECRET_ID,
            "TENCENTCLOUD_SECRET_KEY": SECRET_KEY, "MTLSFORM_API_TIMEOUT": f"{API_TIMEOUT:g}",
            "MTLSFORM_RETRY_TIMEOUT": "3"}


def _read_through(url: str, home: Path) -> ProviderError:
    config = ProviderConfig(kind="tencentcloud", region="ap-guangzhou", endpoint=url)
    with open_provider(config, emulator_data_dir=None, environ=_environment(home)) as (
            provider, _), pytest.raises(ProviderError) as caught:
        provider.read_load_balancers(["lb-12345678"])
    return caught.value


def _no_library_text(error: ProviderError) -> None:
    text = f"{error} {error.hint}"
    for library in ("HTTPConnectionPool", "HTTPSConnectionPool", "urllib3", "Max retries",
                    "Connection aborted", "IncompleteRead", "_ssl.c", "Errno"):
        assert library not in text, text
    assert SECRET_ID not in text and SECRET_KEY not in text and "Signature" not in text


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_a_misbehaving_endpoint_is_one_error_in_our_words(name: str, tmp_path: Path) -> None:
    behaviour = TRANSPORTS[name]
    with misbehaving(name) as (url, accepted):
        error = _read_through(url, tmp_path)
    assert error.code == behaviour.code, error
    assert error.outcome_unknown is behaviour.retried  # a failed handshake sent nothing
    assert behaviour.words in error.message, error.message
    assert url in error.message, error.message  # where it happened
    _no_library_text(error)
    if behaviour.retried:
        assert 1 < len(accepted) <= NETWORK_ATTEMPTS, accepted
        assert "attempts" in (error.hint or "") or "network failures" in (error.hint or "")
    else:
        assert len(accepted) == 1, accepted


def test_a_refused_connection_is_one_error_in_our_words(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    error = _read_through(f"http://127.0.0.1:{port}", tmp_path)
    assert error.code == "ClientNetworkError"
    assert f"http://127.0.0.1:{port} refused the connection" in error.message, error.message
    hint = error.hint or ""  # bounded by attempts or by time, whichever comes first (jitter)
    assert f"gave up after {NETWORK_ATTEMPTS} network failures" in hint or "attempts in" in hint
    _no_library_text(error)
