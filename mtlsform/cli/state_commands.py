"""Commands that read the state (or a saved plan) and change nothing (show, output, state
list/show), and `state restore`, which puts the backup back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.helptext import HelpCommand, HelpGroup
from mtlsform.cli.options import (
    ARTIFACT_URL,
    JSON,
    LOCK_TIMEOUT,
    OUTPUT_FORMAT,
    STACK,
    STACK_OR_PLAN_HELP,
    STATE,
    VAR_FILES,
    VARS,
    WORKSPACE,
)

if TYPE_CHECKING:
    from mtlsform.state.model import State


def recorded_state(stack_path: Path, var_args: list[str], state_path: Path | None,
                   var_files: list[Path], workspace: str | None) -> State:
    """The state of the stack, loaded as `plan` loads it; an error when there is none yet."""
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.errors import StateError
    from mtlsform.session import read_recorded_state

    stack = load_stack_or_exit(stack_path, var_args, var_files=var_files, workspace=workspace)
    path, state = read_recorded_state(stack, state_path)
    if state is None:
        raise StateError(f"no state at {path}: {stack_path} has not been applied yet",
                         hint=f"run `mtlsform apply {stack_path}`")
    return state


def show(stack_path: Path | None = typer.Argument(None, metavar="[STACK|PLAN]",
                                                  show_default=False, help=STACK_OR_PLAN_HELP),
         var: list[str] = VARS, var_file: list[Path] = VAR_FILES, json_output: bool = JSON,
         output_format: str | None = OUTPUT_FORMAT,
         state: Path = STATE, workspace: str | None = WORKSPACE,
         artifact_url: str | None = ARTIFACT_URL) -> None:
    """Show what the state records (secrets hidden), or a saved plan."""
    from mtlsform.cli.conflicts import output_format as chosen_format
    from mtlsform.cli.conflicts import refuse_together
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.views import choose_view
    from mtlsform.plan.planfile import is_plan_file, read_plan

    view = choose_view(chosen_format(output_format, json_output=json_output),
                       artifact_url=artifact_url)
    stack_path = stack_or_default(stack_path)
    saved_plan = is_plan_file(stack_path)
    for flag, given in (("--var", bool(var)), ("--state", state is not None),
                        ("--var-file", bool(var_file)), ("--workspace", workspace is not None)):
        refuse_together(("a saved plan", saved_plan), (flag, given),
                        why="the plan file records its stack, variables and state")
    refuse_together(("--artifact-url", artifact_url is not None),
                    ("a stack (not a saved plan)", not saved_plan),
                    why="the link goes in a plan's comment: `mtlsform show PLAN --format "
                    "markdown --artifact-url URL`")
    if saved_plan:
        saved = read_plan(stack_path)
        view.plan(saved.plan, source=str(saved.stack_path))
    else:
        view.state(recorded_state(stack_path, var, state, var_file, workspace))


def output(stack_arg: str | None = typer.Argument(None, metavar="[STACK]", show_default=False,
                                                 help=STACK.help),
           name: str = typer.Argument(None, metavar="[NAME]",
                                      help="One output (a lone argument that is not a .yaml "
                                      "file is a NAME of the default stack)."),
           var: list[str] = VARS, var_file: list[Path] = VAR_FILES, json_output: bool = JSON,
           state: Path = STATE, workspace: str | None = WORKSPACE) -> None:
    """Print the stack's outputs (one, raw, when NAME is given: handy in scripts)."""
    from mtlsform.cli.defaultstack import looks_like_stack, stack_or_default
    from mtlsform.cli.views import choose_view
    from mtlsform.errors import InputError

    view = choose_view(json_output=json_output)
    if name is None and stack_arg is not None and not looks_like_stack(stack_arg):
        stack_arg, name = None, stack_arg
    stack_path = stack_or_default(stack_arg)
    recorded = recorded_state(stack_path, var, state, var_file, workspace)
    if name is None:
        view.outputs(recorded.outputs)
    elif name in recorded.outputs:
        view.output(name, recorded.outputs[name])
    else:
        known = ", ".join(sorted(recorded.outputs)) or "none"
        raise InputError(f"no output named {name!r} (outputs: {known})")


state_app = typer.Typer(help="Look at the state (list resources, show one), restore its "
                        "backup, forget (rm) or rename (mv) resources in it.",
                        no_args_is_help=True, cls=HelpGroup, rich_markup_mode=None)


@state_app.command("list", cls=HelpCommand)
def state_list(stack_path: Path | None = STACK, var: list[str] = VARS,
               var_file: list[Path] = VAR_FILES,
               state: Path = STATE, workspace: str | None = WORKSPACE) -> None:
    """List the addresses the state records."""
    from mtlsform.cli.defaultstack import stack_or_default

    stack_path = stack_or_default(stack_path)
    for resource in recorded_state(stack_path, var, state, var_file, workspace).resources:
        suffix = f" (deposed {resource.deposed})" if resource.deposed else ""
        console.out().print(f"{resource.address}{suffix}", markup=False, highlight=False)


@state_app.command("show", cls=HelpCommand)
def state_show(stack_arg: str | None = typer.Argument(None, metavar="[STACK]",
                                                     show_default=False, help=STACK.help),
               address: str = typer.Argument(None, metavar="ADDRESS", show_default=False,
                                             help='e.g. listener.https or '
                                             'rule.https["www.example.com/"] (alone: an '
                                             'address in the default stack)'),
               var: list[str] = VARS, var_file: list[Path] = VAR_FILES, json_output: bool = JSON,
               state: Path = STATE, workspace: str | None = WORKSPACE) -> None:
    """Show one resource of the state (secrets hidden)."""
    from mtlsform.addresses import AddressError
    from mtlsform.cli.defaultstack import looks_like_stack, stack_or_default
    from mtlsform.cli.views import choose_view
    from mtlsform.errors import InputError
    from mtlsform.resources import parse_address

    view = choose_view(json_output=json_output)
    if address is None:
        if stack_arg is None or looks_like_stack(stack_arg):
            raise InputError("missing argument ADDRESS",
                             hint=f"`mtlsform state list {stack_arg or '[STACK]'}` lists the "
                             "addresses")
        stack_arg, address = None, stack_arg
    stack_path = stack_or_default(stack_arg)
    try:
        wanted = parse_address(address)
    except AddressError as exc:
        raise InputError(str(exc)) from None
    resource = recorded_state(stack_path, var, state, var_file, workspace).get(wanted)
    if resource is None:
        raise InputError(f"{wanted} is not in the state",
                         hint=f"`mtlsform state list {stack_path}` lists what is")
    view.resource(resource)


@state_app.command("restore", cls=HelpCommand)
def state_restore(stack_path: Path | None = STACK, var: list[str] = VARS,
                  var_file: list[Path] = VAR_FILES, state: Path = STATE,
                  workspace: str | None = WORKSPACE,
                  force: bool = typer.Option(False, "--force", help="Restore even over a "
                                             "readable state file (it is kept as .replaced).")
                  ) -> None:
    """Put the state's backup back (the state before the last run that changed it)."""
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.session import local_state_path
    from mtlsform.state.restore import restore_backup

    stack_path = stack_or_default(stack_path)
    stack = load_stack_or_exit(stack_path, var, var_files=var_file, workspace=workspace)
    done = restore_backup(local_state_path(stack, state), stack.name, force=force)
    kept = f"; the file it replaced is kept as {done.kept}" if done.kept else ""
    console.out().print(
        f"Restored {done.state_path} from {done.backup}: serial {done.serial}, lineage "
        f"{done.lineage}, {done.resources} resources{kept}.", markup=False, highlight=False)
    console.out().print(f"Run `mtlsform plan {stack_path}` to see how the cloud compares.",
                        markup=False, highlight=False)


def _say(text: str) -> None:
    console.out().print(text, markup=False, highlight=False)


@state_app.command("rm", cls=HelpCommand)
def state_rm(stack_path: Path = typer.Argument(..., metavar="STACK", show_default=False,
                                               help="The stack file, e.g. stacks/example.yaml."),
             addresses: list[str] = typer.Argument(..., metavar="ADDRESS...",
                                                   show_default=False,
                                                   help="What to forget (with what is nested "
                                                   "under it: a listener's rules and targets)."),
             var: list[str] = VARS, var_file: list[Path] = VAR_FILES, state: Path = STATE,
             workspace: str | None = WORKSPACE,
             lock_timeout: float = LOCK_TIMEOUT) -> None:
    """Forget resources: the state stops recording them; the cloud is not touched."""
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.refactoring import remove

    stack = load_stack_or_exit(stack_path, var, var_files=var_file, workspace=workspace)
    done = remove(stack, addresses, state_path=state, lock_timeout=lock_timeout)
    for address in done.changed:
        _say(f"Removed {address} from the state (the cloud object is left as it is)")
    count = len(done.changed)
    _say(f"Forgot {count} resource{'' if count == 1 else 's'}: {done.state_path} is at serial "
         f"{done.serial}; the state before is kept as {done.backup}.")
    if done.local:
        names = ", ".join(str(a) for a in done.local)
        _say(f"{names} had no cloud object: what the state held of "
             f"{'it' if len(done.local) == 1 else 'them'} (a private key included) is now only "
             f"in {done.backup}, until the next run that changes the state.")
    if done.still_declared:
        names = ", ".join(str(a) for a in done.still_declared)
        _say(f"{names} {'is' if len(done.still_declared) == 1 else 'are'} still in "
             f"{stack_path}: the next plan will create "
             f"{'it' if len(done.still_declared) == 1 else 'them'} again (or take the cloud "
             "object back where it is found by what identifies it). Remove "
             f"{'it' if len(done.still_declared) == 1 else 'them'} from the stack to stop "
             "managing it.")


@state_app.command("mv", cls=HelpCommand)
def state_mv(stack_path: Path = typer.Argument(..., metavar="STACK", show_default=False,
                                               help="The stack file, e.g. stacks/example.yaml."),
             source: str = typer.Argument(..., metavar="FROM", show_default=False,
                                          help="The address the state records, e.g. "
                                          "listener.https."),
             destination: str = typer.Argument(..., metavar="TO", show_default=False,
                                               help="The new address, of the same kind, "
                                               "e.g. listener.web."),
             var: list[str] = VARS, var_file: list[Path] = VAR_FILES, state: Path = STATE,
             workspace: str | None = WORKSPACE,
             lock_timeout: float = LOCK_TIMEOUT) -> None:
    """Rename a resource in the state (with what is nested under it); the cloud is not
    touched."""
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.refactoring import move

    stack = load_stack_or_exit(stack_path, var, var_files=var_file, workspace=workspace)
    done = move(stack, source, destination, state_path=state, lock_timeout=lock_timeout)
    for old, new in done.changed.items():
        _say(f"Moved {old} to {new}")
    _say(f"{done.state_path} is at serial {done.serial}; the state before is kept as "
         f"{done.backup}.")


def register(app: typer.Typer) -> None:
    """Adds show, output and state to the app."""
    app.command(cls=HelpCommand)(show)
    app.command(cls=HelpCommand)(output)
    app.add_typer(state_app, name="state")
