"""The plan shows the ownership tags mtlsform puts on a CLB it creates (which stack, which
address), and they never make a plan without changes show one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = "stacks/example.yaml"
TAG_LINES = ['      + tags.mtlsform:address = "load_balancer.web"',
             '      + tags.mtlsform:stack   = "example"']


def _block(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(header)
    end = lines.index("", start)
    return lines[start:end]


def test_the_create_plan_shows_the_ownership_tags(workdir: Path, cli):
    out = cli("plan", EXAMPLE).out
    block = _block(out, "  # load_balancer.web will be created")
    assert [line for line in block if "tags" in line] == TAG_LINES
    doc = json.loads(cli("plan", EXAMPLE, "--json").out)
    [lb] = [c for c in doc["resource_changes"] if c["address"] == "load_balancer.web"]
    assert lb["change"]["after"]["tags"] == {"mtlsform:address": "load_balancer.web",
                                             "mtlsform:stack": "example"}


def test_they_make_no_change_and_the_destroy_plan_shows_them(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    assert cli("plan", EXAMPLE, "--refresh=false", "--detailed-exitcode").code == 0
    destroy = cli("plan", EXAMPLE, "--destroy").out
    block = _block(destroy, "  # load_balancer.web will be destroyed")
    assert [line for line in block if "tags" in line] == [
        line.replace("+", "-", 1) for line in TAG_LINES]
    edit(workdir / EXAMPLE, "name: example-clb ", "name: renamed-clb ")
    renamed = _block(cli("plan", EXAMPLE).out, "  # load_balancer.web will be updated in place")
    assert not [line for line in renamed if "tags" in line]  # unchanged: hidden
