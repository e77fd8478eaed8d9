"""`mtlsform import`: record one existing cloud object in a stack's state, or (`--generate`)
write a stack for an existing CLB with the imports that make its first plan a no-op."""

from __future__ import annotations

from pathlib import Path

import typer

from mtlsform.cli import console
from mtlsform.cli.helptext import HelpCommand
from mtlsform.cli.options import LOCK_TIMEOUT, STATE, VAR_FILES, VARS, WORKSPACE

USAGE = "[STACK] ADDRESS ID"
ARGS = typer.Argument(None, metavar=USAGE, show_default=False,
                      help="The stack file (default: the default stack), the address to record "
                           "(e.g. 'listener.https') and the cloud object's ID: lb-x, lb-x#lbl-y "
                           "(a listener), lb-x#lbl-y#loc-z (a rule), lb-x#lbl-y#loc-z[#SERVER:"
                           "PORT] (a target) or a certificate ID. With --generate: only "
                           "[STACK], whose provider is read.")
GENERATE = typer.Option(None, "--generate", metavar="LB_ID", show_default=False,
                        help="Print a stack for the existing CLB LB_ID (its HTTPS listeners, "
                             "rules, targets and certificates by ID) and the imports to run "
                             "before its first plan.")
NAME = typer.Option(None, "--name", metavar="NAME", show_default=False,
                    help="With --generate: the generated stack's name (default: imported).")


def import_command(args: list[str] = ARGS, generate: str | None = GENERATE,
                   name: str | None = NAME, var: list[str] = VARS,
                   var_file: list[Path] = VAR_FILES, state: Path = STATE,
                   workspace: str | None = WORKSPACE,
                   lock_timeout: float = LOCK_TIMEOUT) -> None:
    """Adopt an existing object into the state (plan then shows what still differs)."""
    from mtlsform.cli.conflicts import refuse_without
    from mtlsform.errors import InputError

    args = list(args or [])
    if generate is not None:
        if len(args) > 1:
            raise InputError(f"--generate takes one load balancer ID and at most a STACK; "
                             f"got {' '.join(args)}",
                             hint="mtlsform import --generate lb-0a1b2c3d [STACK] > stack.yaml")
        _generate(generate, args[0] if args else None, name or "imported", var, state,
                  var_file, workspace)
        return
    refuse_without(("--name", name is not None), ("--generate", False),
                   why="--name names the stack --generate writes")
    from mtlsform.cli.defaultstack import looks_like_stack

    if len(args) == 2 and looks_like_stack(args[0]):
        raise InputError(f"import takes {USAGE}; the ID of the object to import after "
                         f"{args[1]} is missing",
                         hint="e.g. mtlsform import stacks/example.yaml listener.https "
                              "lb-0a1b2c3d#lbl-0a1b2c3d")
    if len(args) not in (2, 3):
        raise InputError(f"import takes {USAGE}; got {len(args)} argument"
                         f"{'' if len(args) == 1 else 's'}",
                         hint="e.g. mtlsform import stacks/example.yaml listener.https "
                              "lb-0a1b2c3d#lbl-0a1b2c3d")
    stack_arg = args[0] if len(args) == 3 else None
    _import(stack_arg, args[-2], args[-1], var, state, lock_timeout, var_file, workspace)


def _import(stack_arg: str | None, address_text: str, ident: str, var: list[str],
            state: Path | None, lock_timeout: float, var_files: list[Path],
            workspace: str | None) -> None:
    from mtlsform.addresses import AddressError
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_raise
    from mtlsform.errors import InputError
    from mtlsform.importing import import_object
    from mtlsform.resources import parse_address
    from mtlsform.session import open_session

    stack_path = stack_or_default(stack_arg)
    stack = load_stack_or_raise(stack_path, var, var_files=var_files, workspace=workspace)
    try:
        address = parse_address(address_text)
    except AddressError as exc:
        raise InputError(str(exc), hint="an address as `mtlsform graph` or `mtlsform plan` "
                                        "shows it, e.g. 'rule.https[\"www.example.com/\"]'"
                         ) from None
    with open_session(stack, operation="import", state_path=state,
                      lock_timeout=lock_timeout) as session:
        done = import_object(session, address, ident.strip())
        path = session.state_path
    out = console.out()
    out.print(f"Imported {done.address} from {done.ident} into {path} (serial {done.serial}).",
              markup=False, highlight=False)
    for owner in done.handed_over_from:
        out.print(f"It was managed by {owner}: it is handed over to stack {stack.name!r}; "
                  "remove it from that stack (and `mtlsform state rm` it there), or its next "
                  "apply changes it back.", markup=False, highlight=False)
    out.print(f"Run `mtlsform plan {stack_path}` to see what still differs from the stack.",
              markup=False, highlight=False)


def _generate(lb_id: str, stack_arg: str | None, name: str, var: list[str],
              state: Path | None, var_files: list[Path], workspace: str | None) -> None:
    import shlex

    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_raise, write_out
    from mtlsform.errors import InputError
    from mtlsform.resources.brownfield import generate_stack
    from mtlsform.session import open_session

    if not name or not name[0].isalpha() or not all(c.isalnum() or c in "_-" for c in name):
        raise InputError(f"--name {name!r} is not a stack name",
                         hint="a letter, then letters, digits, '_' or '-'")
    source_path = stack_or_default(stack_arg)
    source = load_stack_or_raise(source_path, var, var_files=var_files, workspace=workspace)
    with open_session(source, operation="import --generate", state_path=state) as session:
        made = generate_stack(session.provider, lb_id.strip(), stack_name=name,
                              provider_config=source.provider)
    target = source_path.parent / f"{name}.yaml"
    commands = [f"mtlsform import {shlex.quote(str(target))} {shlex.quote(str(address))} "
                f"{shlex.quote(ident)}" for address, ident in made.imports]
    header = [f"# Generated by `mtlsform import --generate {lb_id}` from what the cloud holds.",
              f"# Save it as {target}, then record what exists before the first plan:"]
    header += [f"#   {command}" for command in commands]
    header += [f"# Note: {note}" for note in made.left_out]
    write_out("\n".join(header) + "\n" + made.text)
    err = console.err()
    err.print(f"Save the stack as {target} and run these imports; then `mtlsform plan "
              f"{target}` shows no changes:", markup=False, highlight=False)
    for command in commands:
        err.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Adds import to the app."""
    app.command("import", cls=HelpCommand)(import_command)
