"""Command: `mtlsform completion bash|zsh|fish` prints the shell's completion script.

The script calls `mtlsform` again with _MTLSFORM_COMPLETE set; `main.run` then answers with the
commands, options and values that fit the words typed (Click's completion machinery, as Typer
sets it up). docs/cli.md says how to install it.
"""

from __future__ import annotations

import os
from enum import StrEnum

import typer

from mtlsform.cli.helptext import HelpCommand

PROG_NAME = "mtlsform"
COMPLETE_ENV = "_MTLSFORM_COMPLETE"  # set by the scripts when the shell asks for completions


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: str) -> str:
    """The script that makes `shell` complete mtlsform's commands and options."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_ENV, shell=shell)


def completion_requested() -> bool:
    """Whether this run answers a shell's request for completions."""
    return bool(os.environ.get(COMPLETE_ENV))


def prepare_completion() -> None:
    """Registers Typer's completion classes for bash, zsh and fish (before answering)."""
    from typer._completion_classes import completion_init

    completion_init()


def completion(
    shell: Shell = typer.Argument(..., metavar="bash|zsh|fish", show_default=False,
                                  help="The shell to print the script for."),
) -> None:
    """Print the completion script for bash, zsh or fish: `source <(mtlsform completion bash)`."""
    from mtlsform.cli.stackload import write_out

    write_out(completion_script(shell.value) + "\n")


def register(app: typer.Typer) -> None:
    """Adds `completion` to the app."""
    app.command("completion", cls=HelpCommand)(completion)
