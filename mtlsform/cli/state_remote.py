"""Commands that move the state as a whole, in whichever backend the stack names: `state
pull`, `state push`, `state history`, `state rollback SERIAL`, `state migrate --to BACKEND`,
and `force-unlock LOCK_ID`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.helptext import HelpCommand
from mtlsform.cli.options import LOCK_TIMEOUT, STACK, STATE, VARS, WORKSPACE

if TYPE_CHECKING:
    from mtlsform.state.store import StateStore

PUSH_FORCE_HELP = ("Push even a state of another lineage or a serial not above the stored one "
                   "(it replaces the stored state; a backend with history keeps the old one).")


def _say(text: str) -> None:
    console.out().print(text, markup=False, highlight=False, soft_wrap=True)


def _store(stack_path: Path | None, var: list[str], state: Path | None, *, operation: str,
           lock_timeout: float = 0.0, workspace: str | None = None) -> tuple[Path, StateStore]:
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.session import store_for

    stack_path = stack_or_default(stack_path)
    stack = load_stack_or_exit(stack_path, var, workspace=workspace)
    return stack_path, store_for(stack, state, operation=operation, lock_timeout=lock_timeout,
                                 on_lock_wait=lambda holder: console.err().print(
                                     f"Waiting for the state lock held by {holder}...",
                                     markup=False, highlight=False))


def state_pull(stack_path: Path | None = STACK, var: list[str] = VARS,
               state: Path = STATE, workspace: str | None = WORKSPACE) -> None:
    """Print the stored state document, byte for byte (sealed secrets stay sealed)."""
    from mtlsform.errors import StateError

    _, store = _store(stack_path, var, state, operation="state pull", workspace=workspace)
    data = store.pull()
    if data is None:
        raise StateError(f"{store.location} holds no state yet")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def state_push(stack_arg: str | None = typer.Argument(None, metavar="[STACK]",
                                                     show_default=False, help=STACK.help),
               file: str = typer.Argument(None, metavar="FILE", show_default=False,
                                          help="The state file to push ('-': standard input; "
                                          "alone: a file for the default stack)."),
               var: list[str] = VARS, state: Path = STATE, workspace: str | None = WORKSPACE,
               lock_timeout: float = LOCK_TIMEOUT,
               force: bool = typer.Option(False, "--force", help=PUSH_FORCE_HELP)) -> None:
    """Replace the stored state with FILE (same lineage and a higher serial, unless --force)."""
    from mtlsform.errors import InputError

    if file is None:
        if stack_arg is None:
            raise InputError("missing argument FILE", hint="the state file to push")
        stack_arg, file = None, stack_arg
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from None
    _, store = _store(Path(stack_arg) if stack_arg else None, var, state,
                      operation="state push", lock_timeout=lock_timeout, workspace=workspace)
    with store:
        pushed = store.push(data, force=force)
    before = "an empty store" if pushed.before is None else f"serial {pushed.before}"
    _say(f"Pushed serial {pushed.after} to {store.location}, replacing {before}.")


def state_history(stack_path: Path | None = STACK, var: list[str] = VARS,
                  state: Path = STATE, workspace: str | None = WORKSPACE) -> None:
    """List the versions of the state the backend keeps, newest first."""
    _, store = _store(stack_path, var, state, operation="state history", workspace=workspace)
    entries = store.history()
    if not entries:
        _say(f"{store.location} holds no state yet.")
        return
    for entry in entries:
        mark = "*" if entry.current else " "
        when = entry.written_at or "-"
        by = f"  {entry.written_by}" if entry.written_by else ""
        where = f"  ({entry.version})" if entry.version and not entry.version.isdigit() else ""
        _say(f"{mark} serial {entry.serial:<5} {when}{by}{where}")


def state_rollback(stack_arg: str | None = typer.Argument(None, metavar="[STACK]",
                                                         show_default=False, help=STACK.help),
                   serial: int = typer.Argument(None, metavar="SERIAL", show_default=False,
                                                help="The serial whose content to restore "
                                                "(`state history` lists them)."),
                   var: list[str] = VARS, workspace: str | None = WORKSPACE,
                   lock_timeout: float = LOCK_TIMEOUT) -> None:
    """Write the content of an older serial as a new serial (the history stays whole)."""
    from mtlsform.cli.defaultstack import looks_like_stack
    from mtlsform.errors import InputError
    from mtlsform.state.rollback import rollback

    if serial is None:
        if stack_arg is None or looks_like_stack(stack_arg):
            raise InputError("missing argument SERIAL",
                             hint="`mtlsform state history` lists the serials")
        stack_arg, serial = None, _serial(stack_arg)
    _, store = _store(Path(stack_arg) if stack_arg else None, var, None,
                      operation="state rollback", lock_timeout=lock_timeout,
                      workspace=workspace)
    with store:
        done = rollback(store, serial)
    _say(f"Wrote the content of serial {done.serial} as serial {done.pushed.after} of "
         f"{store.location} (it held serial {done.pushed.before}).")


def _serial(text: str) -> int:
    from mtlsform.errors import InputError

    try:
        return int(text)
    except ValueError:
        raise InputError(f"{text!r} is not a serial (a whole number)") from None


def force_unlock(lock_id: str = typer.Argument(..., metavar="LOCK_ID", show_default=False,
                                               help="The lock ID the lock message shows."),
                 stack_path: Path | None = STACK, var: list[str] = VARS, state: Path = STATE,
                 workspace: str | None = WORKSPACE,
                 force: bool = typer.Option(False, "--force", help="Do not ask for "
                                            "confirmation.")) -> None:
    """Show who holds the state lock, then break it (only the lock with this ID)."""
    from mtlsform.errors import InputError, StateError

    _, store = _store(stack_path, var, state, operation="force-unlock", workspace=workspace)
    holder = store.holder()
    if holder is None:
        raise StateError(f"the state {store.location} is not locked")
    _say(f"The state {store.location} is locked by {holder.describe()}.")
    if holder.id != lock_id:
        raise StateError(f"its lock ID is not {lock_id}", hint="nothing was unlocked")
    if not force:
        if not sys.stdin.isatty():
            raise InputError("force-unlock asks before it acts: pass --force to confirm",
                             hint="make sure that run is not still working on the state")
        answer = typer.prompt("Break this lock? Only 'yes' is accepted", default="",
                              show_default=False)
        if answer != "yes":
            raise InputError("force-unlock cancelled", hint="nothing was unlocked")
    broken = store.force_unlock(lock_id)
    _say(f"Unlocked {store.location} (the lock of {broken.who}, pid {broken.pid}).")


MIGRATE_TO_HELP = ("Where to move the state: local, pg or cos, with the settings of a backend "
                   "block of that kind after a colon, e.g. pg:schema_name=ops or "
                   "cos:bucket=tfstate-1250000000,region=ap-guangzhou (local:path=FILE for "
                   "another file). Credentials come from the environment, as for the block.")


def state_migrate(stack_path: Path | None = STACK,
                  to: str = typer.Option(..., "--to", metavar="BACKEND", show_default=False,
                                         help=MIGRATE_TO_HELP),
                  var: list[str] = VARS, state: Path = STATE,
                  lock_timeout: float = LOCK_TIMEOUT,
                  force: bool = typer.Option(False, "--force", help="Replace a state the "
                                             "destination already holds.")) -> None:
    """Copy the state to another backend, both locked, and read it back (the source is
    kept)."""
    import os

    from mtlsform.cli.backend_spec import parse_backend_spec
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.session import passphrase_from, state_path_for, with_environment
    from mtlsform.state.backends import open_store
    from mtlsform.state.migrate import migrate

    settings = with_environment(parse_backend_spec(to), os.environ)
    stack_path, source = _store(stack_path, var, state, operation="state migrate",
                                lock_timeout=lock_timeout)
    stack = load_stack_or_exit(stack_path, var)
    destination = open_store(settings, stack=stack.name, local_path=state_path_for(stack),
                             environ=os.environ, lock_timeout=lock_timeout,
                             operation="state migrate", passphrase=passphrase_from(os.environ))
    with source, destination:
        done = migrate(source, destination, force=force)
    replaced = "" if done.replaced is None else f", replacing its serial {done.replaced}"
    _say(f"Migrated serial {done.serial} (lineage {done.lineage}, {done.size} bytes) from "
         f"{source.location} to {destination.location}{replaced}; read back byte for byte.")
    _say(f"{source.location} is kept as it was. Point the backend block of {stack_path} at "
         f"{settings.kind}" + ("" if settings.kind == "local" else " with the same settings")
         + ", and remove the old state once the next plan shows nothing to change.")


def register(app: typer.Typer) -> None:
    """Adds state pull/push/history/rollback and force-unlock."""
    from mtlsform.cli.state_commands import state_app

    state_app.command("pull", cls=HelpCommand)(state_pull)
    state_app.command("push", cls=HelpCommand)(state_push)
    state_app.command("history", cls=HelpCommand)(state_history)
    state_app.command("rollback", cls=HelpCommand)(state_rollback)
    state_app.command("migrate", cls=HelpCommand)(state_migrate)
    app.command("force-unlock", cls=HelpCommand)(force_unlock)
