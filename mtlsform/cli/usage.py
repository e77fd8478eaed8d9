"""Usage errors (unknown options, missing arguments, bad values) as one error and a hint.

Click's own words stay in the message; the usage block and "Try --help" become a hint. An
unknown single-dash long option (Terraform's spelling: `-out=x.plan`, `-auto-approve`) is named
as typed, with the option of the command it most resembles, or the command's options.
"""

from __future__ import annotations

import re
from difflib import get_close_matches

from typer._click import Command, Context
from typer._click.exceptions import NoSuchOption, UsageError

from mtlsform.cli.options import GLOBAL_OPTIONS

_CLICK_SUGGESTION = re.compile(r"(.*?) Did you mean '([^']+)'\?", re.DOTALL)
SIMILAR = 0.75  # how alike a typed name and an option's name must be to suggest it


def describe(exc: UsageError, argv: list[str], root: Command) -> tuple[str, str]:
    """The message and the hint for a usage error raised while parsing `argv` for `root`."""
    where = exc.ctx.command_path if exc.ctx is not None else _command_path(root, argv)
    if isinstance(exc, NoSuchOption):
        typed = _single_dash_spelling(exc.option_name, argv) or exc.option_name
        name = typed.lstrip("-").partition("=")[0]
        known = _options(exc.ctx)
        message = f"{where} has no option {typed.partition('=')[0]}"
        if not typed.startswith("--"):
            message += " (options start with two dashes)"
        return message, _suggestion(name, known)
    # Typer passes pydantic's words on; the reason is the part after them
    message = exc.format_message().replace("Value error, ", "")
    suggested = _CLICK_SUGGESTION.fullmatch(message)
    if suggested:  # "No such command 'plna'. Did you mean 'plan'?"
        return suggested.group(1), f"did you mean {suggested.group(2)}?"
    return message, f"see `{where} --help`"


def _command_path(root: Command, argv: list[str]) -> str:
    """`mtlsform state show`: the command the words of `argv` lead to (for errors without a
    context, such as an option missing its value)."""
    words = ["mtlsform"]
    command: Command = root
    for arg in argv:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            if not arg.startswith("-"):
                break
            continue
        words.append(arg)
        command = sub
    return " ".join(words)


def _single_dash_spelling(option_name: str, argv: list[str]) -> str | None:
    """The argument `-word[=value]` that Click read as the short option `option_name`."""
    if option_name.startswith("--") or len(option_name) != 2:
        return None
    for arg in argv:
        if arg == "--":
            break
        if arg.startswith(option_name) and not arg.startswith("--") and len(arg) > 2:
            return arg
    return None


def _options(ctx: Context | None) -> list[str]:
    """The long options of the command that failed, then the global ones."""
    names: list[str] = []
    if ctx is not None:
        for param in ctx.command.get_params(ctx):
            if param.param_type_name == "option":
                names += [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
    return names + [flag for flag, _ in GLOBAL_OPTIONS if flag not in names]


def _suggestion(name: str, known: list[str]) -> str:
    bare = {option[2:]: option for option in known}
    match = get_close_matches(name, list(bare), n=1, cutoff=SIMILAR)
    if match:
        return f"did you mean {bare[match[0]]}?"
    listed = ", ".join(o for o in known if o != "--help")
    return f"its options: {listed}"
