"""Typer arguments and options shared by the commands that read a stack and its state."""

from __future__ import annotations

import typer

STACK = typer.Argument(..., metavar="STACK", help="The stack file, e.g. stacks/example.yaml.")
VARS = typer.Option([], "--var", help="Set a variable: NAME=VALUE (repeatable).")
STATE = typer.Option(None, "--state", help="State file (default: .mtlsform/<stack>.state.json "
                     "beside the stack file).")
JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
ADOPT_FOUND = typer.Option(False, "--adopt-found", help="Take over objects of this stack found "
                           "in the cloud by their tags that the state does not record (after "
                           "a lost state); without it they are refused.")
IGNORE_BACKUP = typer.Option(False, "--ignore-backup", help="Plan although the state file is "
                             "missing beside its backup (start the state afresh).")
