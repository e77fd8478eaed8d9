"""Commands that read a stack without touching the cloud: validate, graph."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from mtlsform.cli.helptext import HelpCommand
from mtlsform.cli.options import DEFAULT_STACK_HELP, STACK, VAR_FILES, VARS


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"


def register(app: typer.Typer) -> None:
    """Adds this module's commands to the app."""

    @app.command("validate", cls=HelpCommand)
    def validate(
        stacks: list[Path] = typer.Argument(None, metavar="[STACK]...", show_default=False,
                                            help=f"Stack files to check ({DEFAULT_STACK_HELP})."),
        var: list[str] = VARS,
        var_file: list[Path] = VAR_FILES,
        json_output: bool = typer.Option(False, "--json",
                                         help="Print the diagnostics as a JSON list on stdout."),
    ) -> None:
        """Check stack files (YAML, schema, references, TLS rules); exit 1 if any is invalid."""
        from mtlsform.cli.defaultstack import stack_or_default
        from mtlsform.cli.stackload import validate_stacks

        chosen = [stack_or_default(s) for s in stacks] if stacks else [stack_or_default(None)]
        raise typer.Exit(validate_stacks(chosen, var, json_output=json_output,
                                         var_files=var_file))

    @app.command("graph", cls=HelpCommand)
    def graph(
        stack: Path | None = STACK,
        output_format: GraphFormat = typer.Option(GraphFormat.dot, "--format",
                                                  metavar="dot|mermaid",
                                                  help="dot (Graphviz) or mermaid."),
        var: list[str] = VARS,
    ) -> None:
        """Print the resource graph: an edge goes from a resource to what it depends on."""
        from mtlsform.cli.defaultstack import stack_or_default
        from mtlsform.cli.stackload import load_stack_or_exit, write_out
        from mtlsform.resources.graph import resource_graph

        loaded = load_stack_or_exit(stack_or_default(stack), var)
        resources = resource_graph(loaded).reduced()
        text = resources.to_mermaid() if output_format is GraphFormat.mermaid \
            else resources.to_dot(loaded.name)
        write_out(text)
