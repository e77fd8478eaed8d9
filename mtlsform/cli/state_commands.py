"""Commands that read the state (or a saved plan) and change nothing (show, output, state
list/show), and `state restore`, which puts the backup back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.options import JSON, STACK, STATE, VARS

if TYPE_CHECKING:
    from mtlsform.state.model import State


def recorded_state(stack_path: Path, var_args: list[str], state_path: Path | None) -> State:
    """The state of the stack, loaded as `plan` loads it; an error when there is none yet."""
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.errors import StateError
    from mtlsform.session import read_recorded_state

    stack = load_stack_or_exit(stack_path, var_args)
    path, state = read_recorded_state(stack, state_path)
    if state is None:
        raise StateError(f"no state at {path}: {stack_path} has not been applied yet",
                         hint=f"run `mtlsform apply {stack_path}`")
    return state


def show(stack_path: Path = typer.Argument(..., metavar="STACK|PLAN",
                                           help="A stack file (shows its state) or a "
                                           "plan file saved by `plan --out`."),
         var: list[str] = VARS, json_output: bool = JSON,
         output_format: str = typer.Option("text", "--format", help="For a plan file: text, "
                                           "json or markdown."),
         state: Path = STATE) -> None:
    """Show what the state records (secrets hidden), or a saved plan."""
    from mtlsform.cli.views import choose_view
    from mtlsform.plan.planfile import is_plan_file, read_plan

    view = choose_view(output_format, json_output=json_output)
    if is_plan_file(stack_path):
        saved = read_plan(stack_path)
        view.plan(saved.plan, source=str(saved.stack_path))
    else:
        view.state(recorded_state(stack_path, var, state))


def output(stack_path: Path = STACK,
           name: str = typer.Argument(None, metavar="[NAME]", help="One output."),
           var: list[str] = VARS, json_output: bool = JSON, state: Path = STATE) -> None:
    """Print the stack's outputs (one, raw, when NAME is given: handy in scripts)."""
    from mtlsform.cli.views import choose_view
    from mtlsform.errors import InputError

    view = choose_view(json_output=json_output)
    recorded = recorded_state(stack_path, var, state)
    if name is None:
        view.outputs(recorded.outputs)
    elif name in recorded.outputs:
        view.output(name, recorded.outputs[name])
    else:
        known = ", ".join(sorted(recorded.outputs)) or "none"
        raise InputError(f"no output named {name!r} (outputs: {known})")


state_app = typer.Typer(help="Look at the state (list resources, show one) and "
                        "restore its backup.",
                        no_args_is_help=True)


@state_app.command("list")
def state_list(stack_path: Path = STACK, var: list[str] = VARS, state: Path = STATE) -> None:
    """List the addresses the state records."""
    for resource in recorded_state(stack_path, var, state).resources:
        suffix = f" (deposed {resource.deposed})" if resource.deposed else ""
        console.out().print(f"{resource.address}{suffix}", markup=False, highlight=False)


@state_app.command("show")
def state_show(stack_path: Path = STACK,
               address: str = typer.Argument(..., metavar="ADDRESS",
                                             help='e.g. listener.https or '
                                             'rule.https["www.example.com/"]'),
               var: list[str] = VARS, json_output: bool = JSON, state: Path = STATE) -> None:
    """Show one resource of the state (secrets hidden)."""
    from mtlsform.addresses import AddressError
    from mtlsform.cli.views import choose_view
    from mtlsform.errors import InputError
    from mtlsform.resources import parse_address

    view = choose_view(json_output=json_output)
    try:
        wanted = parse_address(address)
    except AddressError as exc:
        raise InputError(str(exc)) from None
    resource = recorded_state(stack_path, var, state).get(wanted)
    if resource is None:
        raise InputError(f"{wanted} is not in the state",
                         hint=f"`mtlsform state list {stack_path}` lists what is")
    view.resource(resource)


@state_app.command("restore")
def state_restore(stack_path: Path = STACK, var: list[str] = VARS, state: Path = STATE,
                  force: bool = typer.Option(False, "--force", help="Restore even over a "
                                             "readable state file (it is kept as .replaced).")
                  ) -> None:
    """Put the state's backup back (the state before the last run that changed it)."""
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.session import state_path_for
    from mtlsform.state.restore import restore_backup

    stack = load_stack_or_exit(stack_path, var)
    done = restore_backup(state_path_for(stack, state), stack.name, force=force)
    kept = f"; the file it replaced is kept as {done.kept}" if done.kept else ""
    console.out().print(
        f"Restored {done.state_path} from {done.backup}: serial {done.serial}, lineage "
        f"{done.lineage}, {done.resources} resources{kept}.", markup=False, highlight=False)
    console.out().print(f"Run `mtlsform plan {stack_path}` to see how the cloud compares.",
                        markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Adds show, output and state to the app."""
    app.command()(show)
    app.command()(output)
    app.add_typer(state_app, name="state")
