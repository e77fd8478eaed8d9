"""Output formats chosen once per command: --json is --format json, for plans and states."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLE = Path("stacks/example.yaml")


def test_json_is_an_alias_of_format_json(workdir, cli):
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    for target in ("p.plan",):
        by_flag, by_format = cli("show", target, "--json"), cli("show", target, "--format", "json")
        assert (by_flag.code, by_format.code) == (0, 0)
        assert by_flag.out == by_format.out and json.loads(by_flag.out)["summary"]["add"] == 10
    assert cli("apply", "p.plan").code == 0
    by_flag, by_format = cli("show", EXAMPLE, "--json"), cli("show", EXAMPLE, "--format", "JSON")
    assert by_flag.out == by_format.out and json.loads(by_flag.out)["stack"] == "example"
    text, markdown = cli("show", EXAMPLE), cli("show", EXAMPLE, "--format", "markdown")
    assert text.out == markdown.out  # Markdown is a format of plans; a state shows as text


def test_an_unknown_format_is_refused_before_anything_runs(workdir, cli):
    for args in (("plan", EXAMPLE), ("show", EXAMPLE)):
        refused = cli(*args, "--format", "yaml")
        assert (refused.code, refused.out) == (1, "")
        assert refused.err == "error: --format 'yaml' is not text, json or markdown\n"
    assert not (workdir / "stacks/.mtlsform").exists()
