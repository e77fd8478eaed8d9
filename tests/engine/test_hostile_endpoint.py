"""The CLI pointed at an endpoint that is not the API (HTML, garbage, 5xx, an unknown error
code; one that never answers, trickles, resets, closes, cuts its answer short or speaks plain
HTTP to TLS): `plan` and `apply` end in one clear message, no traceback, the state is
untouched, and pointed back at the real (emulated) cloud the stack still matches: nothing was
duplicated (issue 10, hostile-endpoint test). The behaviours are the provider tests' tables."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.providers.hostile_transport import API_TIMEOUT, TRANSPORTS, misbehaving
from tests.providers.test_hostile_answers import BEHAVIOURS, SECRET_ID, SECRET_KEY, hostile

EXAMPLE = Path("stacks/example.yaml")
STATE = Path("stacks/.mtlsform/example.state.json")
EMULATED = ("provider:\n"
            "  kind: emulator               # emulator (embedded default) | tencentcloud\n")


def _against(endpoint: AbstractContextManager[tuple[str, Any]], words: tuple[str, ...],
             workdir: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    text = (workdir / EXAMPLE).read_text()
    assert EMULATED in text
    state = (workdir / STATE).read_bytes()
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("MTLSFORM_API_TIMEOUT", f"{API_TIMEOUT:g}")
    monkeypatch.setenv("MTLSFORM_RETRY_TIMEOUT", "3")
    with endpoint as (url, received):
        (workdir / EXAMPLE).write_text(text.replace(
            EMULATED, f"provider:\n  kind: tencentcloud\n  endpoint: {url}\n"))
        for command in (("plan", EXAMPLE), ("apply", EXAMPLE, "--auto-approve")):
            result = cli(*command)
            assert result.code == 1, result.text
            assert "Traceback" not in result.text and "internal error" not in result.text
            assert result.err.count("error:") == 1, result.err
            for word in words:
                assert word in result.err, result.err
            assert SECRET_KEY not in result.text and SECRET_ID not in result.text
        assert received  # it was asked, and answered garbage
    assert (workdir / STATE).read_bytes() == state  # nothing recorded from garbage
    (workdir / EXAMPLE).write_text(text)
    after = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert after.code == 0, after.text  # the cloud still matches: nothing was duplicated


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_a_hostile_endpoint_gets_one_message_and_changes_nothing(name, workdir, cli,
                                                                 monkeypatch):
    status, content_type, body, code, _retried = BEHAVIOURS[name]
    # An answer of the API's shape names its code alone; the others say where they came from.
    words = (code,) if code == "Weird.Code" else (code, "http://127.0.0.1:")
    _against(hostile(status, content_type, body), words, workdir, cli, monkeypatch)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_a_misbehaving_endpoint_gets_one_message_and_changes_nothing(name, workdir, cli,
                                                                     monkeypatch):
    behaviour = TRANSPORTS[name]
    words = (behaviour.code, behaviour.words, f"{behaviour.scheme}://127.0.0.1:")
    _against(misbehaving(name), words, workdir, cli, monkeypatch)
