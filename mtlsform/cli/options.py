"""Typer arguments and options shared by the commands, with the metavars their help shows.

Every option that takes a value names it the way a person writes it (STACK, NAME=VALUE, FILE,
SECONDS, N, true|false); tests/cli checks the help of every command for Python type names.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

# Accepted anywhere on the line (main.py takes them out before parsing); every help lists them.
GLOBAL_OPTIONS = (
    ("--debug", "Show tracebacks of internal errors."),
    ("--no-color", "Never colour the output."),
)



def _completing(*values: str) -> Callable[[str], list[str]]:
    """Shell completion of an option whose values are fixed words."""
    def complete(incomplete: str) -> list[str]:
        return [value for value in values if value.startswith(incomplete)]
    return complete


DEFAULT_STACK_HELP = "default: $MTLSFORM_STACK, else the default_stack named in ./mtlsform.yaml"

STACK = typer.Argument(None, metavar="[STACK]", show_default=False,
                       help=f"The stack file, e.g. stacks/example.yaml ({DEFAULT_STACK_HELP}).")
STACK_OR_PLAN_HELP = f"The stack file, or a plan file saved by `plan --out` ({DEFAULT_STACK_HELP})."
VAR_HELP = "Set a variable (repeatable; overrides MTLSFORM_VAR_NAME and defaults)."
VARS = typer.Option([], "--var", metavar="NAME=VALUE", show_default=False, help=VAR_HELP)
VAR_FILES = typer.Option([], "--var-file", metavar="FILE", show_default=False,
                        help="Set variables from a YAML or JSON mapping of NAME: VALUE "
                        "(repeatable: a later file wins; --var wins over files).")
WORKSPACE = typer.Option(None, "--workspace", metavar="NAME", show_default=False,
                         help="The environment of the stack to work on, with a state of its own "
                         "(default: $MTLSFORM_WORKSPACE, else default).")
STATE = typer.Option(None, "--state", metavar="FILE", help="State file (default: "
                     ".mtlsform/<stack>.state.json beside the stack file).")
JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout (as --format json).")
FORMAT_HELP = "text, json or markdown (a pull-request comment).  [default: text]"
OUTPUT_FORMAT = typer.Option(None, "--format", metavar="text|json|markdown", help=FORMAT_HELP,
                             autocompletion=_completing("text", "json", "markdown"))
ADOPT_FOUND = typer.Option(False, "--adopt-found", help="Take over objects of this stack found "
                           "in the cloud by their tags that the state does not record (after "
                           "a lost state); without it they are refused.")
IGNORE_BACKUP = typer.Option(False, "--ignore-backup", help="Plan although the state file is "
                             "missing beside its backup (start the state afresh).")
LOCK_TIMEOUT = typer.Option(0.0, "--lock-timeout", metavar="SECONDS", show_default=False,
                            help="Seconds to wait for the state lock (default: 0, do not wait).")
REFRESH = typer.Option(None, "--refresh", metavar="true|false", show_default=False,
                       autocompletion=_completing("true", "false"),
                       help="Read the cloud first; false: trust the state.  [default: true]")
DEFAULT_PARALLELISM = 10
PARALLELISM = typer.Option(DEFAULT_PARALLELISM, "--parallelism", metavar="N", min=1, max=64,
                           help="How many operations run at once.")
AUTO_APPROVE = typer.Option(False, "--auto-approve", help="Apply without asking.")
TARGET = typer.Option([], "--target", metavar="ADDRESS", show_default=False,
                      help="Plan (and apply) only this resource and what it depends on "
                      "(repeatable); the plan says it is partial.")
REPLACE = typer.Option([], "--replace", metavar="ADDRESS", show_default=False,
                       help="Replace this resource although nothing forces it (repeatable).")
ARTIFACT_URL = typer.Option(None, "--artifact-url", metavar="URL",
                            help="With --format markdown: link the comment to the plan "
                                 "artefact of this CI run (http or https).")
