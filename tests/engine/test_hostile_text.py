"""Text from outside reaches the terminal escaped: an API error message cannot clear the
screen, set the title, forge a line or inject markup (the answer comes through a real proxy in
front of the emulator that rewrites it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtlsform.cli.console import safe_text
from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, EmulatorConfig
from tests.engine.conftest import edit
from tests.providers.test_incomplete_answers import damaging_proxy

EXAMPLE = Path("stacks/example.yaml")
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rApply complete! [bold]\u202egnp.exe"


def _refuse(called: str, response: dict[str, Any]) -> None:
    if called == "DescribeLoadBalancers":
        request_id = response.get("RequestId", "")
        response.clear()
        response.update({"Error": {"Code": "UnauthorizedOperation", "Message": HOSTILE},
                         "RequestId": request_id})


def test_an_api_message_is_printed_escaped(workdir, cli, monkeypatch, tmp_path):
    with Emulator(EmulatorConfig(data_dir=tmp_path / "world", task_delay=0.01)) as emu, \
            damaging_proxy(emu.endpoint, _refuse) as url:
        edit(workdir / EXAMPLE, "kind: emulator ", f"kind: tencentcloud\n  endpoint: {url}\n  #")
        monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
        monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
        planned = cli("plan", EXAMPLE)
    assert planned.code == 1
    assert "\x1b" not in planned.text and "\x07" not in planned.text
    assert "\r" not in planned.text and "\u202e" not in planned.text
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x0dApply complete! [bold]\\u202egnp.exe" in planned.err


def test_safe_text_keeps_newlines_and_tabs():
    assert safe_text("a\tb\nc") == "a\tb\nc"
    assert safe_text("\x00\x7f\x9b\u2066") == "\\x00\\x7f\\x9b\\u2066"
