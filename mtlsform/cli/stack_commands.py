"""Commands that read a stack without touching the cloud: validate, graph."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

VAR_HELP = "Set a variable: NAME=VALUE (repeatable; overrides MTLSFORM_VAR_NAME and defaults)."


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"


def register(app: typer.Typer) -> None:
    """Adds this module's commands to the app."""

    @app.command("validate")
    def validate(
        stacks: list[Path] = typer.Argument(..., metavar="STACK",
                                            help="Stack files to check."),
        var: list[str] = typer.Option([], "--var", metavar="NAME=VALUE", help=VAR_HELP),
        json_output: bool = typer.Option(False, "--json",
                                         help="Print the diagnostics as a JSON list on stdout."),
    ) -> None:
        """Check stack files (YAML, schema, references, TLS rules); exit 1 if any is invalid."""
        from mtlsform.cli.stackload import validate_stacks

        raise typer.Exit(validate_stacks(stacks, var, json_output=json_output))

    @app.command("graph")
    def graph(
        stack: Path = typer.Argument(..., metavar="STACK", help="The stack file."),
        output_format: GraphFormat = typer.Option(GraphFormat.dot, "--format",
                                                  help="dot (Graphviz) or mermaid."),
        var: list[str] = typer.Option([], "--var", metavar="NAME=VALUE", help=VAR_HELP),
    ) -> None:
        """Print the resource graph: an edge goes from a resource to what it depends on."""
        from mtlsform.cli.stackload import load_stack_or_exit, write_out
        from mtlsform.resources.graph import resource_graph

        loaded = load_stack_or_exit(stack, var)
        resources = resource_graph(loaded).reduced()
        text = resources.to_mermaid() if output_format is GraphFormat.mermaid \
            else resources.to_dot(loaded.name)
        write_out(text)
