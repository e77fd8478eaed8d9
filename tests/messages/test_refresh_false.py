"""A plan that did not read the cloud says it compared the stack with the state only."""

from __future__ import annotations

import json

EXAMPLE = "stacks/example.yaml"


def test_no_changes_without_refresh_says_the_cloud_was_not_read(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    result = cli("plan", EXAMPLE, "--refresh=false")
    assert result.code == 0
    assert result.out == ("No changes. The state matches stacks/example.yaml "
                          "(the cloud was not read: --refresh=false).\n")
    refreshed = cli("plan", EXAMPLE)
    assert refreshed.out == "No changes. The cloud matches stacks/example.yaml.\n"


def test_json_and_markdown_say_what_was_compared(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    doc = json.loads(cli("plan", EXAMPLE, "--refresh=false", "--json").out)
    assert (doc["refreshed"], doc["compared_with"], doc["has_changes"]) == (False, "state", False)
    assert json.loads(cli("plan", EXAMPLE, "--json").out)["compared_with"] == "cloud"
    markdown = cli("plan", EXAMPLE, "--refresh=false", "--format", "markdown").out
    assert ("**No changes.** The state matches the stack (the cloud was not read: "
            "`--refresh=false`).") in markdown
    assert "The cloud matches" not in markdown
    assert "**No changes.** The cloud matches the stack." in cli(
        "plan", EXAMPLE, "--format", "markdown").out


def test_a_destroy_with_nothing_left_says_so(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("destroy", EXAMPLE, "--auto-approve").code == 0
    again = cli("destroy", EXAMPLE, "--auto-approve")
    assert again.code == 0
    assert again.out == "No changes. Nothing of stacks/example.yaml is left to destroy.\n"
    planned = cli("plan", EXAMPLE, "--destroy", "--refresh=false")
    assert planned.out == ("No changes. The state records nothing of stacks/example.yaml to "
                           "destroy (the cloud was not read: --refresh=false).\n")
    markdown = cli("plan", EXAMPLE, "--destroy", "--format", "markdown").out
    assert "**No changes.** Nothing is left to destroy.\n" in markdown


def test_a_plan_with_changes_without_refresh_says_what_it_did_not_see(workdir, cli):
    result = cli("plan", EXAMPLE, "--refresh=false")
    assert result.out.splitlines()[:3] == [
        "Note: the cloud was not read (--refresh=false): this plan compares the stack with the "
        "state only, so changes made outside mtlsform are not shown.",
        "",
        "mtlsform will perform the following actions:",
    ]
    assert "Note:" not in cli("plan", EXAMPLE).out
    markdown = cli("plan", EXAMPLE, "--refresh=false", "--format", "markdown").out
    assert ("> [!NOTE]\n> The cloud was not read (`--refresh=false`): this plan compares the "
            "stack with the state only, so changes made outside mtlsform are not shown.\n"
            ) in markdown
    assert "[!NOTE]" not in cli("plan", EXAMPLE, "--format", "markdown").out
