"""The `mtlsform` entry point: builds the Typer app and maps outcomes to exit codes.

Exit codes: 0 success, 1 any error (bad input, failed operation, bug), 2 only where a command
documents it (`plan --detailed-exitcode`: changes present). A traceback is shown only with
`--debug` (anywhere on the command line) or MTLSFORM_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
import traceback
from importlib import import_module

import typer
from typer._click.core import Command

from mtlsform import __version__
from mtlsform.cli import console
from mtlsform.cli.helptext import HelpGroup
from mtlsform.cli.options import GLOBAL_OPTIONS
from mtlsform.errors import MtlsformError

# Modules that add commands to the app; each has `register(app: typer.Typer) -> None`.
COMMAND_MODULES = (
    "mtlsform.cli.stack_commands",  # validate, graph
    "mtlsform.cli.engine_commands",  # plan, apply, destroy
    "mtlsform.cli.state_commands",  # show, output, state
    "mtlsform.cli.import_command",  # import, import --generate
    "mtlsform.cli.state_remote",  # state pull/push/history/rollback, force-unlock
    "mtlsform.cli.certs",  # certs export, certs inspect
    "mtlsform.cli.verify",  # verify
    "mtlsform.cli.emulator",  # emulator serve
    "mtlsform.cli.completion",  # completion bash|zsh|fish
    "mtlsform.cli.comment",  # comment (the plan on a pull request)
)

GLOBAL_FLAGS = tuple(flag for flag, _ in GLOBAL_OPTIONS)
DEBUG_ENV = "MTLSFORM_DEBUG"  # "1": tracebacks as with --debug


def _version(value: bool) -> None:
    if value:
        console.out().print(f"mtlsform {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The app with every command module's commands."""
    app = typer.Typer(
        name="mtlsform",
        help="Declarative mutual-TLS HTTPS entry points on Tencent Cloud Load Balancer.",
        epilog="Without STACK, a command uses $MTLSFORM_STACK, else the default_stack named in "
        "./mtlsform.yaml. Shell completion: mtlsform completion bash|zsh|fish. See docs/cli.md.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=HelpGroup,
    )
    help_of = dict(GLOBAL_OPTIONS)

    @app.callback()
    def root(
        debug: bool = typer.Option(False, "--debug", help=help_of["--debug"]),
        no_color: bool = typer.Option(False, "--no-color", help=help_of["--no-color"]),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        """Validate, plan, apply and verify mTLS stacks (see README.md)."""

    for name in COMMAND_MODULES:
        import_module(name).register(app)
    return app


def _split_global_flags(argv: list[str]) -> tuple[list[str], set[str]]:
    """Accept --debug / --no-color anywhere before `--`, as people type them at the end."""
    flags: set[str] = set()
    rest: list[str] = []
    passthrough = False
    for arg in argv:
        if passthrough:
            rest.append(arg)
        elif arg == "--":
            passthrough = True
            rest.append(arg)
        elif arg in GLOBAL_FLAGS:
            flags.add(arg)
        else:
            rest.append(arg)
    return rest, flags


def _print_error(message: str, hint: str | None = None) -> None:
    err = console.err()
    from rich.markup import escape

    # The message may come from outside: in colour, its brackets are text, never markup.
    err.print(f"[bold red]error:[/] {escape(message)}" if console.color_enabled()
              else f"error: {message}", markup=console.color_enabled(), highlight=False)
    if hint:
        err.print(f"  hint: {hint}", markup=False, highlight=False)


def _show_usage_error(exc: typer.TyperException, argv: list[str],
                      root: Command | None) -> None:
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    from mtlsform.cli.usage import describe

    if isinstance(exc, NoArgsIsHelpError):
        exc.show()  # the help, on stderr
    elif isinstance(exc, UsageError) and root is not None:
        _print_error(*describe(exc, argv, root))
    else:
        _print_error(exc.format_message())


def run(argv: list[str] | None = None) -> int:
    """Runs the CLI and returns the exit code (tests call this; `main` exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, flags = _split_global_flags(argv)
    debug = "--debug" in flags or os.environ.get(DEBUG_ENV) == "1"
    console.configure(no_color="--no-color" in flags)
    from mtlsform.cli.completion import completion_requested, prepare_completion

    if completion_requested():
        prepare_completion()  # the shell asks; Click answers and exits below
    command: Command | None = None
    try:
        command = typer.main.get_command(build_app())
        result = command.main(args=argv, prog_name="mtlsform", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        console.err().print("Aborted.", markup=False)
        return 1
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument...
        _show_usage_error(exc, argv, command)
        return 0 if type(exc).__name__ == "NoArgsIsHelpError" else 1
    except MtlsformError as exc:
        if debug:
            traceback.print_exc()
        _print_error(str(exc), exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        console.err().print("Interrupted.", markup=False)
        return 130
    except Exception as exc:  # a bug: one line, the traceback only on request
        if debug:
            traceback.print_exc()
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        _print_error(
            f"internal error: {type(exc).__name__}{': ' + text if text else ''}",
            "this is a bug in mtlsform; run again with --debug to see the traceback",
        )
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    """The console script."""
    sys.exit(run())
