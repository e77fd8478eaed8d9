"""Help as a person reads it: the command classes behind every `--help` of mtlsform.

Typer's own help shows Python: `{STACK}` in the usage line, `STACK <path>` for an argument,
`<float>` for an option without a metavar and `1<=x<=64` for a range. These classes print each
argument by its metavar alone, ranges in words, and, on every command, the global options that
are accepted anywhere on the line (main.py takes them out before Click parses).
"""

from __future__ import annotations

import re

from typer._click import Context, HelpFormatter
from typer._click.core import Command
from typer._click.shell_completion import CompletionItem
from typer.core import TyperCommand, TyperGroup

from mtlsform.cli.options import GLOBAL_OPTIONS

_RANGE = re.compile(r"(-?[\d.]+)<=x<=(-?[\d.]+)")
_AT_LEAST = re.compile(r"x>=(-?[\d.]+)")
_AT_MOST = re.compile(r"x<=(-?[\d.]+)")


def _ranges_in_words(text: str) -> str:
    text = _RANGE.sub(r"\1 to \2", text)
    text = _AT_LEAST.sub(r"at least \1", text)
    return _AT_MOST.sub(r"at most \1", text)


def _with_current_default(metavar: str, text: str) -> str:
    """An optional STACK's help, with the default stack in force now, if one is set."""
    if not metavar.startswith("[STACK"):
        return text
    from mtlsform.cli.defaultstack import current_default

    now = current_default()
    return f"{text}  [now: {now}]" if now else text


def _format_plain(command: Command, ctx: Context, formatter: HelpFormatter) -> None:
    """Usage, the docstring, arguments, options and the global options; never rich panels."""
    command.format_usage(ctx, formatter)
    command.format_help_text(ctx, formatter)
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            metavar = param.metavar or (param.name or "").upper()
            text = _ranges_in_words(getattr(param, "help", None) or "")
            arguments.append((metavar, _with_current_default(metavar, text)))
            continue
        record = param.get_help_record(ctx)
        if record is not None:
            options.append((record[0], _ranges_in_words(record[1])))
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    if options:
        with formatter.section("Options"):
            formatter.write_dl(options)
    if ctx.parent is not None:  # the root lists them among its own options
        with formatter.section("Global options (accepted anywhere on the line)"):
            formatter.write_dl(list(GLOBAL_OPTIONS))
    command.format_epilog(ctx, formatter)


def _with_global_options(items: list[CompletionItem], incomplete: str) -> list[CompletionItem]:
    """Completions, and the global options that start with `incomplete` (an option's start)."""
    if not incomplete.startswith("-"):
        return items
    offered = {item.value for item in items}
    return items + [CompletionItem(flag, help=text) for flag, text in GLOBAL_OPTIONS
                    if flag.startswith(incomplete) and flag not in offered]


class HelpCommand(TyperCommand):
    """A command whose help names values by their metavar (STACK, FILE, SECONDS, true|false)."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(param.metavar or (param.name or "").upper())
        return pieces

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        _format_plain(self, ctx, formatter)

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        return _with_global_options(super().shell_complete(ctx, incomplete), incomplete)


class HelpGroup(TyperGroup):
    """A command group with the same plain help as HelpCommand."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_options(ctx, formatter)
        if ctx.parent is not None:
            with formatter.section("Global options (accepted anywhere on the line)"):
                formatter.write_dl(list(GLOBAL_OPTIONS))
        self.format_epilog(ctx, formatter)
