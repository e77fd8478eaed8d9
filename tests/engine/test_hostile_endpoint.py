"""The CLI pointed at an endpoint that is not the API (HTML, garbage, 5xx, an unknown error
code): `plan` and `apply` end in one clear message, no traceback, the state is untouched, and
pointed back at the real (emulated) cloud the stack still matches: nothing was duplicated
(issue 10, hostile-endpoint test). The behaviours are the provider test's table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.providers.test_hostile_answers import BEHAVIOURS, SECRET_ID, SECRET_KEY, hostile

EXAMPLE = Path("stacks/example.yaml")
STATE = Path("stacks/.mtlsform/example.state.json")
EMULATED = ("provider:\n"
            "  kind: emulator               # emulator (embedded default) | tencentcloud\n")


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_a_hostile_endpoint_gets_one_message_and_changes_nothing(name, workdir, cli,
                                                                 monkeypatch):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    text = (workdir / EXAMPLE).read_text()
    assert EMULATED in text
    state = (workdir / STATE).read_bytes()
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("MTLSFORM_RETRY_TIMEOUT", "30")
    status, content_type, body, code, _retried = BEHAVIOURS[name]
    with hostile(status, content_type, body) as (url, received):
        (workdir / EXAMPLE).write_text(text.replace(
            EMULATED, f"provider:\n  kind: tencentcloud\n  endpoint: {url}\n"))
        for command in (("plan", EXAMPLE), ("apply", EXAMPLE, "--auto-approve")):
            result = cli(*command)
            assert result.code == 1, result.text
            assert "Traceback" not in result.text and "internal error" not in result.text
            assert result.err.count("error:") == 1, result.err
            assert code in result.err, result.err
            if code != "Weird.Code":  # an answer of the API's shape names its code alone
                assert url.split("//")[1] in result.err, result.err  # where it came from
            assert SECRET_KEY not in result.text and SECRET_ID not in result.text
        assert received  # it was asked, and answered garbage
    assert (workdir / STATE).read_bytes() == state  # nothing recorded from garbage
    (workdir / EXAMPLE).write_text(text)
    after = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert after.code == 0, after.text  # the cloud still matches: nothing was duplicated
