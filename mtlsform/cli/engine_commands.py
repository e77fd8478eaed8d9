"""Commands that change the cloud, or say how they would: plan, apply, destroy.

The run itself (saved plans, what a plan needs, whether to ask) is mtlsform.runs; here are the
flags, the question at the terminal, Ctrl-C, and the exit code.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.options import (
    ADOPT_FOUND,
    ARTIFACT_URL,
    AUTO_APPROVE,
    DEFAULT_PARALLELISM,
    DEFAULT_STACK_HELP,
    IGNORE_BACKUP,
    JSON,
    LOCK_TIMEOUT,
    OUTPUT_FORMAT,
    PARALLELISM,
    REFRESH,
    REPLACE,
    STACK,
    STATE,
    TARGET,
    VAR_FILES,
    VARS,
    WORKSPACE,
)

if TYPE_CHECKING:
    from mtlsform.apply.executor import ApplyResult
    from mtlsform.apply.operations import Operation
    from mtlsform.cli.progress import ProgressPrinter
    from mtlsform.plan.model import Plan
    from mtlsform.runs import Approval, ChangeRequest, ChangeRun, Source
    from mtlsform.state.model import State

INTERRUPTED_EXIT = 130  # the second Ctrl-C: 128 + SIGINT, as shells report it
REFRESH_ONLY = typer.Option(False, "--refresh-only",
                            help="Only what changed outside mtlsform: plan shows it, apply "
                                 "records it in the state and changes nothing in the cloud "
                                 "(with --detailed-exitcode, plan exits 2 on drift).")
AT = typer.Option(None, "--at", metavar="DATE",
                  help="Plan as of this date (2027-01-15, or an ISO date and time, UTC) "
                       "instead of now: which certificates are due for renewal then.")


def _bool(value: str | None, flag: str) -> bool:
    if value is None:
        return True
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    from mtlsform.errors import InputError

    raise InputError(f"{flag} expects true or false, not {value!r}")


class _Messages:
    """Implements mtlsform.runs.RunObserver on stderr."""

    def waiting_for_lock(self, holder: str) -> None:
        console.err().print(f"Waiting for the state lock ({holder})...", markup=False,
                            highlight=False)

    def note(self, text: str) -> None:
        console.err().print(text, markup=False, highlight=False)


def _confirm(approval: Approval, operation: str) -> None:
    """Asks at the terminal when the approval says so; the refusal when no one can answer."""
    from mtlsform.errors import InputError
    from mtlsform.runs import Approval

    if approval is Approval.REFUSE:
        raise InputError(f"{operation} needs --auto-approve when it does not run on a terminal",
                         hint="no one is there to answer the question")
    if approval is not Approval.ASK:
        return
    err = console.err()
    err.print(f"\nDo you want to {operation} these changes? Only 'yes' will be accepted.",
              markup=False)
    answer = input("  Enter a value: ").strip()
    if answer != "yes":
        err.print(f"{operation.capitalize()} cancelled.", markup=False)
        raise typer.Exit(1)


def command_to_continue(request: ChangeRequest, source: Source, parallelism: int) -> str:
    """The command line that carries on an interrupted run: the same command on the same stack
    and variables (a saved plan is used up once the state moved on: its stack is planned
    again), with the options that shape the run."""
    words = ["mtlsform", request.operation]
    if request.auto_approve:
        words.append("--auto-approve")
    if parallelism != DEFAULT_PARALLELISM:
        words += ["--parallelism", str(parallelism)]
    if not request.refresh:
        words.append("--refresh=false")
    if request.state_path is not None:
        words += ["--state", str(request.state_path)]
    if source.workspace is not None and source.workspace != "default":
        words += ["--workspace", source.workspace]
    if request.lock_timeout:
        words += ["--lock-timeout", f"{request.lock_timeout:g}"]
    for var_file in source.var_files:
        words += ["--var-file", str(var_file)]
    for assignment in source.var_args:
        words += ["--var", assignment]
    words.append(str(source.stack_path))
    return shlex.join(words)


def _some_operations(count: int) -> str:
    return f"{count} operation{'' if count == 1 else 's'}"


@contextmanager
def _interrupts(stop: threading.Event, printer: ProgressPrinter, again: str) -> Iterator[None]:
    """First Ctrl-C: finish what is running, start nothing new (the summary says the rest).
    Second: say what is abandoned and how the next run recovers it, and stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        flying = printer.in_flight()
        if not stop.is_set():
            stop.set()
            printer.post("\n" + interrupt_text(len(flying)))
            return
        printer.last_words("\n" + abandon_text(flying, again))
        # Stop now: the state already records every finished operation and an intent for each
        # one in flight (written before its cloud call); both locks are released by the kernel.
        os._exit(INTERRUPTED_EXIT)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupt_text(in_flight: int) -> str:
    """What the first Ctrl-C says at once (the summary at the end says the rest)."""
    if not in_flight:
        return "Interrupt received: starting no new operations (Ctrl-C again to stop at once)."
    return (f"Interrupt received: finishing the {_some_operations(in_flight)} in flight, "
            "starting no new ones (Ctrl-C again to stop at once).")


def abandon_text(flying: list[tuple[Operation, str]], again: str) -> str:
    """What the second Ctrl-C says before it stops the run at once."""
    from mtlsform.cli.progress import VERBS

    if not flying:
        lines = ["Interrupted again: stopping now (no operation was in flight)."]
    else:
        lines = [f"Interrupted again: stopping now, abandoning the "
                 f"{_some_operations(len(flying))} in flight:"]
        lines += [f"  {op}: {VERBS[what][0][:-3].lower()}" for op, what in flying]
        them = "it" if len(flying) == 1 else "them"
        lines.append(f"The cloud may still finish {them}. The state records every operation "
                     f"that finished and marks {them} as in flight; the next run reads the "
                     f"cloud and recovers {them}.")
    lines.append(f"To continue, run: {again}")
    return "\n".join(lines)


def _report(result: ApplyResult, state: State, plan: Plan, again: str) -> int:
    from mtlsform.cli.renderers import render_apply_summary
    from mtlsform.cli.views import TextView

    err = console.err()
    text, ok = render_apply_summary(result, plan, color=console.color_enabled(), again=again)
    err.print(text, markup=console.color_enabled(), highlight=False)
    if ok and state.outputs:
        TextView().outputs(state.outputs)
    return 0 if ok else 1


def _leftovers(run: ChangeRun, *, remove_exports: bool) -> None:
    """After a destroy: the exports removed (--remove-exports), and what is left on disk."""
    from mtlsform.leftovers import leftovers
    from mtlsform.leftovers import remove_exports as remove

    err = console.err()
    stack = run.session.stack
    if remove_exports:
        for path in remove(stack):
            err.print(f"Removed {path}", markup=False, highlight=False)
    left = leftovers(stack, run.session.state_path)
    if not left:
        return
    err.print("\nLeft on disk (delete what is no longer needed):", markup=False, highlight=False)
    for item in left:
        err.print(f"  {item.path} ({item.why})", markup=False, highlight=False)
    if any(item.export for item in left):
        err.print(f"To delete the exported files: mtlsform destroy {run.source.stack_path} "
                  "--remove-exports", markup=False, highlight=False)


def _run_change(request: ChangeRequest, parallelism: int, *,
                remove_exports: bool = False) -> int:
    """apply and destroy: the plan shown, the question asked when needed, progress, a summary."""
    from mtlsform.cli.progress import ProgressPrinter
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.cli.views import TextView
    from mtlsform.pki.export import p12_password
    from mtlsform.runs import open_change, p12_password_missing

    with open_change(request, load_stack=load_stack_or_exit, observer=_Messages()) as run:
        missing = p12_password_missing(run.plan, os.environ) if run.needs_p12_password else None
        if missing is not None and not request.interactive:
            raise missing  # before the plan: no one can answer the password prompt
        TextView().plan(run.plan, source=str(run.source.stack_path))
        if not run.plan.has_changes:
            run.apply(parallelism=parallelism)  # records refreshed state and outputs
            if request.destroy:
                _leftovers(run, remove_exports=remove_exports)
            return 0
        password = p12_password(os.environ, interactive=request.interactive) \
            if run.needs_p12_password else None
        _confirm(run.approval, run.operation)
        stop = threading.Event()
        again = command_to_continue(request, run.source, parallelism)
        with ProgressPrinter() as printer, _interrupts(stop, printer, again):
            result, state = run.apply(parallelism=parallelism, hooks=printer,
                                      p12_password=password, stop=stop)
        code = _report(result, state, run.plan, again)
        if run.plan.partial:
            console.err().print(partial_apply_text(run.plan), markup=False, highlight=False)
        if request.destroy and code == 0:  # a failed destroy removes nothing
            _leftovers(run, remove_exports=remove_exports)
        return code


def partial_apply_text(plan: Plan) -> str:
    """What an apply of a partial plan (--target) says after its summary."""
    names = ", ".join(str(t) for t in plan.targets)
    return (f"This apply was partial: it applied only {names} (--target) and what "
            f"{'it depends' if len(plan.targets) == 1 else 'they depend'} on; run `mtlsform "
            "plan` to see what else differs from the stack.")


def _warn_p12_password(plan: Plan) -> None:
    """At plan time, the PKCS#12 password that applying the plan will need and lacks."""
    from mtlsform.runs import p12_password_missing

    missing = p12_password_missing(plan, os.environ)
    if missing is not None:
        err = console.err()
        err.print(f"warning: {missing.message}", markup=False, highlight=False)
        err.print(f"  hint: {missing.hint}", markup=False, highlight=False)


def _refuse_adopting(adopt_found: bool, *, destroy: bool, refresh: str | None) -> None:
    from mtlsform.cli.conflicts import refuse_together

    refuse_together(("--adopt-found", adopt_found), ("--destroy", destroy),
                    why="a destroy deletes only what the state records; adopt first with "
                    "`mtlsform apply --adopt-found`, then destroy")
    refuse_together(("--adopt-found", adopt_found),
                    ("--refresh=false", refresh is not None and not _bool(refresh, "--refresh")),
                    why="objects to adopt are found by reading the cloud")


def _request(target: Path | None, var_args: list[str], *, var_files: list[Path],
             workspace: str | None, destroy: bool, auto_approve: bool,
             refresh: str | None, state_path: Path | None, lock_timeout: float,
             adopt_found: bool = False, ignore_backup: bool = False,
             at: str | None = None, verify_rotation: bool = False,
             refresh_only: bool = False, targets: tuple[str, ...] = (),
             replacing: tuple[str, ...] = ()) -> ChangeRequest:
    from mtlsform.cli.conflicts import refuse_together
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.errors import InputError
    from mtlsform.instants import parse_instant
    from mtlsform.plan.planfile import is_plan_file
    from mtlsform.runs import ChangeRequest

    target = stack_or_default(target)
    if destroy and is_plan_file(target):
        raise InputError(f"{target} is a saved plan; destroy takes the stack file",
                         hint="a plan made with `plan --destroy --out FILE` is carried out by "
                         "`mtlsform apply FILE`")
    refuse_together(("a saved plan", not destroy and is_plan_file(target)),
                    ("--refresh", refresh is not None),
                    why="the plan was made with its own --refresh; apply it as it is, or plan "
                    "again")
    return ChangeRequest(target, tuple(var_args), var_files=tuple(var_files),
                         workspace=workspace,
                         destroy=destroy, auto_approve=auto_approve,
                         refresh=_bool(refresh, "--refresh"), interactive=sys.stdin.isatty(),
                         state_path=state_path, lock_timeout=lock_timeout,
                         adopt_found=adopt_found, ignore_backup=ignore_backup,
                         at=parse_instant(at) if at is not None else None,
                         verify_rotation=verify_rotation, refresh_only=refresh_only,
                         targets=targets, replacing=replacing)


def plan(
    stack_path: Path | None = STACK,
    var: list[str] = VARS,
    var_file: list[Path] = VAR_FILES,
    destroy: bool = typer.Option(False, "--destroy", help="Plan to destroy everything."),
    refresh: str | None = REFRESH,
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0: no changes, 2: changes, 1: error."),
    json_output: bool = JSON,
    output_format: str | None = OUTPUT_FORMAT,
    out: Path = typer.Option(None, "--out", metavar="FILE",
                             help="Save the plan to FILE; `mtlsform apply FILE` then applies "
                             "exactly it (refused if the stack or state changed)."),
    state: Path = STATE,
    workspace: str | None = WORKSPACE,
    lock_timeout: float = LOCK_TIMEOUT,
    adopt_found: bool = ADOPT_FOUND,
    ignore_backup: bool = IGNORE_BACKUP,
    at: str | None = AT,
    refresh_only: bool = REFRESH_ONLY,
    target: list[str] = TARGET,
    replace: list[str] = REPLACE,
    artifact_url: str | None = ARTIFACT_URL,
) -> None:
    """Show what apply would change, without changing anything."""
    from mtlsform.cli.conflicts import output_format as chosen_format
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.cli.views import choose_view
    from mtlsform.instants import parse_instant
    from mtlsform.runs import plan_stack

    view = choose_view(chosen_format(output_format, json_output=json_output),
                       artifact_url=artifact_url)
    _refuse_adopting(adopt_found, destroy=destroy, refresh=refresh)
    stack_path = stack_or_default(stack_path)
    instant = parse_instant(at) if at is not None else None
    stack = load_stack_or_exit(stack_path, var, json_output=view.name == "json",
                               var_files=var_file, workspace=workspace)
    result = plan_stack(stack, destroy=destroy, refresh=_bool(refresh, "--refresh"),
                        state_path=state, lock_timeout=lock_timeout, observer=_Messages(),
                        out=out, adopt_found=adopt_found, ignore_backup=ignore_backup,
                        at=instant, refresh_only=refresh_only, targets=tuple(target),
                        replacing=tuple(replace))
    view.plan(result, source=str(stack_path))
    _warn_p12_password(result)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


def apply(
    stack_path: Path | None = typer.Argument(
        None, metavar="[STACK|PLAN]", show_default=False,
        help="The stack file, or a plan file saved by `plan --out` (applied as it is, without "
        f"asking; {DEFAULT_STACK_HELP})."),
    var: list[str] = VARS,
    var_file: list[Path] = VAR_FILES,
    auto_approve: bool = AUTO_APPROVE,
    parallelism: int = PARALLELISM,
    refresh: str | None = REFRESH,
    state: Path = STATE,
    workspace: str | None = WORKSPACE,
    lock_timeout: float = LOCK_TIMEOUT,
    adopt_found: bool = ADOPT_FOUND,
    ignore_backup: bool = IGNORE_BACKUP,
    at: str | None = typer.Option(None, "--at", metavar="DATE",
                                  help="Apply as of this date instead of now (the emulator "
                                       "only): renew what is due then."),
    verify_rotation: bool = typer.Option(
        False, "--verify-rotation", help="After switching a listener or domain to a new "
        "certificate, confirm by a TLS handshake to the VIP that it presents it (always done "
        "against the emulator); if not, switch back and stop."),
    refresh_only: bool = REFRESH_ONLY,
    target: list[str] = TARGET,
    replace: list[str] = REPLACE,
) -> None:
    """Make the cloud match the stack (shows the plan and asks first)."""
    _refuse_adopting(adopt_found, destroy=False, refresh=refresh)
    request = _request(stack_path, var, var_files=var_file, workspace=workspace, destroy=False,
                       auto_approve=auto_approve,
                       refresh=refresh, state_path=state, lock_timeout=lock_timeout,
                       adopt_found=adopt_found, ignore_backup=ignore_backup, at=at,
                       verify_rotation=verify_rotation, refresh_only=refresh_only,
                       targets=tuple(target), replacing=tuple(replace))
    raise typer.Exit(_run_change(request, parallelism))


def destroy(
    stack_path: Path | None = STACK,
    var: list[str] = VARS,
    var_file: list[Path] = VAR_FILES,
    auto_approve: bool = AUTO_APPROVE,
    parallelism: int = PARALLELISM,
    refresh: str | None = REFRESH,
    state: Path = STATE,
    workspace: str | None = WORKSPACE,
    lock_timeout: float = LOCK_TIMEOUT,
    ignore_backup: bool = IGNORE_BACKUP,
    remove_exports: bool = typer.Option(
        False, "--remove-exports", help="After destroying, delete the client files the stack's "
        "exports wrote (only those; the state backup stays)."),
) -> None:
    """Delete everything the stack created (adopted load balancers stay)."""
    request = _request(stack_path, var, var_files=var_file, workspace=workspace, destroy=True,
                       auto_approve=auto_approve,
                       refresh=refresh, state_path=state, lock_timeout=lock_timeout,
                       ignore_backup=ignore_backup)
    raise typer.Exit(_run_change(request, parallelism, remove_exports=remove_exports))


def register(app: typer.Typer) -> None:
    """Adds plan, apply and destroy to the app."""
    from mtlsform.cli.helptext import HelpCommand

    app.command(cls=HelpCommand)(plan)
    app.command(cls=HelpCommand)(apply)
    app.command(cls=HelpCommand)(destroy)
