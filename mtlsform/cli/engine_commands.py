"""Commands: plan, apply, destroy (change the cloud) and show, output, state (read the state)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import typer

from mtlsform.cli import console

STACK = typer.Argument(..., metavar="STACK", help="The stack file, e.g. stacks/example.yaml.")
VARS = typer.Option([], "--var", help="Set a variable: NAME=VALUE (repeatable).")
STATE = typer.Option(None, "--state", help="State file (default: .mtlsform/<stack>.state.json "
                     "beside the stack file).")
LOCK_TIMEOUT = typer.Option(0.0, "--lock-timeout", help="Seconds to wait for the state lock.")
REFRESH = typer.Option("true", "--refresh", help="Read the cloud first (--refresh=false: trust "
                       "the state).")
PARALLELISM = typer.Option(10, "--parallelism", min=1, max=64,
                           help="How many operations run at once.")
AUTO_APPROVE = typer.Option(False, "--auto-approve", help="Apply without asking.")
JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def _bool(value: str, flag: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    from mtlsform.errors import InputError

    raise InputError(f"{flag} expects true or false, not {value!r}")


def _print(text: str) -> None:
    console.out().print(text, markup=console.color_enabled(), highlight=False, end="")


def _needs_p12_password(plan) -> bool:
    from mtlsform.plan.model import Action

    for change in plan.actionable:
        if change.address.type != "certificate" or not (change.action.creates
                                                         or change.action is Action.UPDATE):
            continue
        export = (change.config or {}).get("export") or {}
        if export.get("pkcs12") or export.get("legacy_pkcs12"):
            return True
    return False


def _confirm(what: str) -> None:
    from mtlsform.errors import InputError

    if not sys.stdin.isatty():
        raise InputError(f"{what} needs --auto-approve when it does not run on a terminal",
                         hint="no one is there to answer the question")
    err = console.err()
    err.print(f"\nDo you want to {what} these changes? Only 'yes' will be accepted.",
              markup=False)
    answer = input("  Enter a value: ").strip()
    if answer != "yes":
        err.print(f"{what.capitalize()} cancelled.", markup=False)
        raise typer.Exit(1)


@contextmanager
def _interrupts_stop(stop: threading.Event):
    """First Ctrl-C: finish what is running, start nothing new. Second: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console.err().print("\nInterrupt received: finishing the operations in flight, "
                            "starting no new ones (Ctrl-C again to stop at once).", markup=False)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _waiting(holder: str) -> None:
    console.err().print(f"Waiting for the state lock ({holder})...", markup=False,
                        highlight=False)


def _note_sharing(session) -> None:
    note = session.provider_context.sharing_note()
    if note:
        console.err().print(note, markup=False, highlight=False)


def _report(result, state, plan) -> int:
    from mtlsform.cli.renderers import render_apply_summary, render_outputs

    err = console.err()
    text, ok = render_apply_summary(result, plan, color=console.color_enabled())
    err.print(text, markup=console.color_enabled(), highlight=False)
    if ok and state.outputs:
        _print(render_outputs(state.outputs))
    return 0 if ok else 1


def _run_change(stack_path: Path, var_args: list[str], *, destroy: bool, auto_approve: bool,
                state_path: Path | None, lock_timeout: float, refresh: str,
                parallelism: int) -> int:
    from mtlsform.cli.progress import ProgressPrinter
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.pki.export import p12_password
    from mtlsform.plan.planfile import check_still_valid, is_plan_file, read_plan
    from mtlsform.plan.render_text import render_plan
    from mtlsform.session import open_session

    saved = read_plan(stack_path) if not destroy and is_plan_file(stack_path) else None
    if saved is not None:
        if var_args:
            from mtlsform.errors import InputError

            raise InputError("--var cannot be given with a saved plan: it records its variables")
        var_args = [f"{k}={v}" for k, v in saved.variables.items()]
        stack_path = saved.stack_path
    stack = load_stack_or_exit(stack_path, var_args)
    operation = "destroy" if destroy else "apply"
    with open_session(stack, operation=operation, state_path=state_path,
                      lock_timeout=lock_timeout, on_lock_wait=_waiting) as session:
        _note_sharing(session)
        if saved is not None:
            check_still_valid(saved, stack, session.state)
            plan = saved.plan  # passing the reviewed plan is the approval
            auto_approve = True
        else:
            plan = session.plan(refresh_first=_bool(refresh, "--refresh"), destroy=destroy)
        _print(render_plan(plan, color=console.color_enabled(), source=str(stack_path)))
        if not plan.has_changes:
            session.apply(plan, parallelism=parallelism)  # records refreshed state and outputs
            return 0
        password = None
        if not destroy and _needs_p12_password(plan):
            password = p12_password(os.environ, interactive=sys.stdin.isatty())
        if not auto_approve:
            _confirm(operation)
        stop = threading.Event()
        with _interrupts_stop(stop):
            result, state = session.apply(plan, parallelism=parallelism,
                                          hooks=ProgressPrinter(), p12_password=password,
                                          stop=stop)
        return _report(result, state, plan)


def plan(
    stack_path: Path = STACK,
    var: list[str] = VARS,
    destroy: bool = typer.Option(False, "--destroy", help="Plan to destroy everything."),
    refresh: str = REFRESH,
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0: no changes, 2: changes, 1: error."),
    json_output: bool = JSON,
    output_format: str = typer.Option(
        "text", "--format", help="text (default), json, or markdown (a pull-request comment)."),
    out: Path = typer.Option(None, "--out", help="Save the plan to FILE; `mtlsform apply FILE` "
                             "then applies exactly it (refused if the stack or state changed)."),
    state: Path = STATE,
    lock_timeout: float = LOCK_TIMEOUT,
) -> None:
    """Show what apply would change, without changing anything."""
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.errors import InputError
    from mtlsform.plan.render_json import render_plan_json
    from mtlsform.plan.render_markdown import render_plan_markdown
    from mtlsform.plan.render_text import render_plan
    from mtlsform.session import open_session

    chosen = "json" if json_output else output_format.lower()
    if chosen not in ("text", "json", "markdown"):
        raise InputError(f"--format {output_format!r} is not text, json or markdown")
    stack = load_stack_or_exit(stack_path, var, json_output=chosen == "json")
    with open_session(stack, operation="plan", state_path=state,
                      lock_timeout=lock_timeout, on_lock_wait=_waiting) as session:
        _note_sharing(session)
        result = session.plan(refresh_first=_bool(refresh, "--refresh"), destroy=destroy)
    if out is not None:
        from mtlsform.plan.planfile import write_plan

        write_plan(out, result, stack)
    if chosen == "json":
        console.out().print(render_plan_json(result), markup=False, highlight=False, end="")
    elif chosen == "markdown":
        console.out().print(render_plan_markdown(result, source=str(stack_path)),
                            markup=False, highlight=False, end="")
    else:
        _print(render_plan(result, color=console.color_enabled(), source=str(stack_path)))
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


def apply(
    stack_path: Path = typer.Argument(..., metavar="STACK|PLAN",
                                      help="The stack file, or a plan file saved by "
                                      "`plan --out` (applied as it is, without asking)."),
    var: list[str] = VARS,
    auto_approve: bool = AUTO_APPROVE,
    parallelism: int = PARALLELISM,
    refresh: str = REFRESH,
    state: Path = STATE,
    lock_timeout: float = LOCK_TIMEOUT,
) -> None:
    """Make the cloud match the stack (shows the plan and asks first)."""
    code = _run_change(stack_path, var, destroy=False, auto_approve=auto_approve,
                       state_path=state, lock_timeout=lock_timeout, refresh=refresh,
                       parallelism=parallelism)
    raise typer.Exit(code)


def destroy(
    stack_path: Path = STACK,
    var: list[str] = VARS,
    auto_approve: bool = AUTO_APPROVE,
    parallelism: int = PARALLELISM,
    refresh: str = REFRESH,
    state: Path = STATE,
    lock_timeout: float = LOCK_TIMEOUT,
) -> None:
    """Delete everything the stack created (adopted load balancers stay)."""
    code = _run_change(stack_path, var, destroy=True, auto_approve=auto_approve,
                       state_path=state, lock_timeout=lock_timeout, refresh=refresh,
                       parallelism=parallelism)
    raise typer.Exit(code)


def _read_state(stack_path: Path, var_args: list[str], state_path: Path | None):
    from mtlsform.cli.stackload import load_stack_or_exit
    from mtlsform.errors import StateError
    from mtlsform.session import passphrase_from, state_path_for
    from mtlsform.state.local import read_state

    stack = load_stack_or_exit(stack_path, var_args)
    path = state_path_for(stack, state_path)
    state = read_state(path, passphrase_from(os.environ))
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
    from mtlsform.cli.renderers import render_state, state_json
    from mtlsform.plan.planfile import is_plan_file

    if is_plan_file(stack_path):
        _show_plan_file(stack_path, "json" if json_output else output_format.lower())
        return
    recorded = _read_state(stack_path, var, state)
    if json_output:
        console.out().print(state_json(recorded), markup=False, highlight=False, end="")
    else:
        _print(render_state(recorded, color=console.color_enabled()))


def _show_plan_file(path: Path, chosen: str) -> None:
    from mtlsform.errors import InputError
    from mtlsform.plan.planfile import read_plan
    from mtlsform.plan.render_json import render_plan_json
    from mtlsform.plan.render_markdown import render_plan_markdown
    from mtlsform.plan.render_text import render_plan

    saved = read_plan(path)
    source = str(saved.stack_path)
    if chosen == "json":
        text = render_plan_json(saved.plan)
    elif chosen == "markdown":
        text = render_plan_markdown(saved.plan, source=source)
    elif chosen == "text":
        _print(render_plan(saved.plan, color=console.color_enabled(), source=source))
        return
    else:
        raise InputError(f"--format {chosen!r} is not text, json or markdown")
    console.out().print(text, markup=False, highlight=False, end="")


def output(stack_path: Path = STACK,
           name: str = typer.Argument(None, metavar="[NAME]", help="One output."),
           var: list[str] = VARS, json_output: bool = JSON, state: Path = STATE) -> None:
    """Print the stack's outputs (one, raw, when NAME is given: handy in scripts)."""
    from mtlsform.cli.renderers import outputs_json, render_outputs
    from mtlsform.errors import InputError

    recorded = _read_state(stack_path, var, state)
    if name is not None:
        if name not in recorded.outputs:
            known = ", ".join(sorted(recorded.outputs)) or "none"
            raise InputError(f"no output named {name!r} (outputs: {known})")
        value = recorded.outputs[name]
        if json_output:
            import json

            text = json.dumps(outputs_json({name: value})[name]["value"])
        else:
            text = "(sensitive)" if value.sensitive else str(value.value)
        console.out().print(text, markup=False, highlight=False)
        return
    if json_output:
        import json

        console.out().print(json.dumps(outputs_json(recorded.outputs), indent=2),
                            markup=False, highlight=False)
    else:
        _print(render_outputs(recorded.outputs))


state_app = typer.Typer(help="Look at the state: list resources, show one.",
                        no_args_is_help=True)


@state_app.command("list")
def state_list(stack_path: Path = STACK, var: list[str] = VARS, state: Path = STATE) -> None:
    """List the addresses the state records."""
    recorded = _read_state(stack_path, var, state)
    for resource in recorded.resources:
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
    from mtlsform.cli.renderers import render_resource, resource_json
    from mtlsform.errors import InputError
    from mtlsform.resources import parse_address

    try:
        wanted = parse_address(address)
    except AddressError as exc:
        raise InputError(str(exc)) from None
    recorded = _read_state(stack_path, var, state)
    resource = recorded.get(wanted)
    if resource is None:
        raise InputError(f"{wanted} is not in the state",
                         hint=f"`mtlsform state list {stack_path}` lists what is")
    if json_output:
        import json

        console.out().print(json.dumps(resource_json(resource), indent=2), markup=False,
                            highlight=False)
    else:
        _print(render_resource(resource, color=console.color_enabled()))


def register(app: typer.Typer) -> None:
    """Adds plan, apply, destroy, show, output and state to the app."""
    app.command()(plan)
    app.command()(apply)
    app.command()(destroy)
    app.command()(show)
    app.command()(output)
    app.add_typer(state_app, name="state")
