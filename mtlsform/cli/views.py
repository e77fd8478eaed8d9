"""One view interface for a command's result on stdout, in text, JSON or Markdown.

A command chooses its view once (`choose_view`) and hands it plans, states, resources and
outputs; the views call the renderers of mtlsform.plan.render_* and mtlsform.cli.renderers.
Markdown is a format of plans; for everything else it shows the text form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from mtlsform.cli import console

if TYPE_CHECKING:
    from mtlsform.plan.model import Plan
    from mtlsform.state.model import OutputValue, ResourceState, State

class View(Protocol):
    """How a command shows what it produced."""

    name: str  # text | json | markdown

    def plan(self, plan: Plan, *, source: str) -> None: ...

    def state(self, state: State) -> None: ...

    def resource(self, resource: ResourceState) -> None: ...

    def outputs(self, outputs: Mapping[str, OutputValue]) -> None: ...

    def output(self, name: str, value: OutputValue) -> None: ...


def _exact(text: str, *, end: str = "") -> None:
    console.out().print(text, markup=False, highlight=False, end=end)


def print_text(text: str) -> None:
    """Rendered text on stdout: its markup is used only when colour is on."""
    console.out().print(text, markup=console.color_enabled(), highlight=False, end="")


class TextView:
    """For people: the plan as Terraform shows it, resources as attribute lists."""

    name = "text"

    def plan(self, plan: Plan, *, source: str) -> None:
        from mtlsform.plan.render_text import render_plan

        print_text(render_plan(plan, color=console.color_enabled(), source=source))

    def state(self, state: State) -> None:
        from mtlsform.cli.renderers import render_state

        print_text(render_state(state, color=console.color_enabled()))

    def resource(self, resource: ResourceState) -> None:
        from mtlsform.cli.renderers import render_resource

        print_text(render_resource(resource, color=console.color_enabled()))

    def outputs(self, outputs: Mapping[str, OutputValue]) -> None:
        from mtlsform.cli.renderers import render_outputs

        print_text(render_outputs(outputs))

    def output(self, name: str, value: OutputValue) -> None:
        _exact("(sensitive)" if value.sensitive else str(value.value), end="\n")


class MarkdownView(TextView):
    """For a pull-request comment: the plan in Markdown (linked to its artefact when
    `artifact_url` is given); the rest as text."""

    name = "markdown"

    def __init__(self, artifact_url: str | None = None) -> None:
        self.artifact_url = artifact_url

    def plan(self, plan: Plan, *, source: str) -> None:
        from mtlsform.plan.render_markdown import render_plan_markdown

        _exact(render_plan_markdown(plan, source=source, artifact_url=self.artifact_url))


class JsonView:
    """For programs: documents with format versions, secrets as null or masks."""

    name = "json"

    def plan(self, plan: Plan, *, source: str) -> None:
        from mtlsform.plan.render_json import render_plan_json

        _exact(render_plan_json(plan))

    def state(self, state: State) -> None:
        from mtlsform.cli.renderers import state_json

        _exact(state_json(state))

    def resource(self, resource: ResourceState) -> None:
        from mtlsform.cli.renderers import resource_json

        _exact(json.dumps(resource_json(resource), indent=2), end="\n")

    def outputs(self, outputs: Mapping[str, OutputValue]) -> None:
        from mtlsform.cli.renderers import outputs_json

        _exact(json.dumps(outputs_json(outputs), indent=2), end="\n")

    def output(self, name: str, value: OutputValue) -> None:
        from mtlsform.cli.renderers import outputs_json

        _exact(json.dumps(outputs_json({name: value})[name]["value"]), end="\n")


def _checked_url(url: str) -> str:
    from urllib.parse import urlsplit

    from mtlsform.errors import InputError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(
            c.isspace() or c in "<>" for c in url):
        raise InputError(f"--artifact-url {url!r} is not an http or https URL",
                         hint="e.g. --artifact-url "
                              "https://github.com/OWNER/REPO/actions/runs/RUN_ID")
    return url


def choose_view(output_format: str = "text", *, json_output: bool = False,
                artifact_url: str | None = None) -> View:
    """The view for `--format` (`--json` is an alias of `--format json`); `artifact_url`
    only goes with Markdown."""
    from mtlsform.errors import InputError

    chosen = "json" if json_output else output_format.lower()
    if artifact_url is not None and chosen != "markdown":
        raise InputError("--artifact-url needs --format markdown",
                         hint="the link is part of the pull-request comment")
    if chosen == "json":
        return JsonView()
    if chosen == "markdown":
        return MarkdownView(_checked_url(artifact_url) if artifact_url is not None else None)
    if chosen == "text":
        return TextView()
    raise InputError(f"--format {output_format!r} is not text, json or markdown")
