"""Secrets never leave: not the API key, not a private key, in errors or in (debug) logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mtlsform.emulator import DEFAULT_SECRET_KEY
from mtlsform.errors import ProviderError
from mtlsform.providers.base import ListenerSpec, LoadBalancerSpec
from mtlsform.sensitive import Sensitive
from tests.providers.certs import Pki
from tests.providers.conftest import emulated
from tests.providers.test_retries import walk_through, with_faults


def key_fragments(pem: str) -> list[str]:
    """The base64 lines of a PEM private key: none of them may show up anywhere."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def assert_clean(text: str, pki: Pki) -> None:
    assert DEFAULT_SECRET_KEY not in text
    for pem in (pki.server_key_pem, pki.other_server_key_pem):
        for fragment in key_fragments(pem):
            assert fragment not in text
    assert "PRIVATE KEY-----\n" not in text


def test_debug_logs_of_a_whole_run_hold_no_secret(tmp_path: Path, environ: dict[str, str],
                                                  pki: Pki,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # everything: our loggers, the SDK's, urllib3's
    faults = with_faults(environ, FAULTS="*:RequestLimitExceeded:0.2")
    with emulated(tmp_path, faults) as cloud:
        walk_through(cloud, pki)
        with pytest.raises(ProviderError) as caught:
            cloud.provider.upload_certificate("SVR", pki.server_pem,
                                              Sensitive(pki.other_server_key_pem), "mismatch")
    assert len(caplog.records) > 20
    assert_clean(caplog.text, pki)
    assert_clean(f"{caught.value} {caught.value.hint} {caught.value!r}", pki)


def test_error_messages_of_many_failures_hold_no_secret(tmp_path: Path,
                                                        environ: dict[str, str],
                                                        pki: Pki) -> None:
    messages = []
    with emulated(tmp_path, environ) as cloud:
        p = cloud.provider
        attempts = [
            lambda: p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.other_server_key_pem),
                                         "a"),
            lambda: p.upload_certificate("SVR", "not a certificate",
                                         Sensitive(pki.server_key_pem), "b"),
            lambda: p.upload_certificate("CA", pki.server_pem, None, "c"),
            lambda: p.create_listener("lb-00000000", ListenerSpec(name="h", protocol="HTTPS",
                                                                  port=443)),
            lambda: p.create_load_balancer(LoadBalancerSpec(name="x" * 200)),
        ]
        for attempt in attempts:
            with pytest.raises(ProviderError) as caught:
                attempt()
            messages.append(f"{caught.value} {caught.value.hint}")
    assert len(messages) == len(attempts)
    for text in messages:
        assert_clean(text, pki)
