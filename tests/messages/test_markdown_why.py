"""The Markdown plan's "Why" column names the attributes an update changes."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = "stacks/example.yaml"


def test_why_names_the_changed_attributes(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, "name: example-clb ", "name: renamed-clb ")
    edit(workdir / EXAMPLE, "rs-1: {instance: ins-rs1, port: 80, weight: 10}",
         "rs-1: {instance: ins-rs1, port: 80, weight: 30}")
    markdown = cli("plan", EXAMPLE, "--format", "markdown").out
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `~` | `load_balancer.web` | update in place | `name` changes |",
        '| `~` | `target.https["www.example.com/"].rs-1` | update in place | `weight` changes |',
    ]
