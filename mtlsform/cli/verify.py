"""Command: `mtlsform verify` — check a deployed stack end to end with real mTLS requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.helptext import HelpCommand
from mtlsform.cli.options import STACK, STATE, VAR_FILES, VARS, WORKSPACE

if TYPE_CHECKING:
    from mtlsform.verification import Report

STYLES = {"pass": "green", "fail": "bold red", "skip": "yellow"}


def parse_address(text: str | None) -> tuple[str, int] | None:
    """`HOST:PORT` or `[IPv6]:PORT` as (host, port); InputError when it is neither."""
    from mtlsform.errors import InputError

    if text is None:
        return None
    host, sep, port = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--address {text!r}: expected HOST:PORT",
                         hint="e.g. --address 127.64.0.1:8443 or --address [::1]:443")
    return host, int(port)


def _summary(report: Report) -> str:
    counts = f"{report.count('pass')} passed, {report.count('fail')} failed, " \
             f"{report.count('skip')} skipped"
    return f"{counts}: verify {'passed' if report.passed else 'FAILED'}."


def _heading(report: Report) -> list[str]:
    lines = [f"Verifying stack {report.stack}: {report.requests} requests per rule for the "
             f"spread, {report.tolerance} tolerance."]
    lines += [f"  {listener}: {address} ({how})" for listener, address, how in report.connections]
    return lines


def render_plain(report: Report) -> str:
    """The report as aligned plain text (the last column is not padded)."""
    from mtlsform.verification import REPORT_COLUMNS

    rows: list[tuple[str, ...]] = [REPORT_COLUMNS, *(r.cells() for r in report.results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(REPORT_COLUMNS) - 1)]
    lines = [*_heading(report), ""]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines += ["", _summary(report)]
    return "\n".join(lines) + "\n"


def _print_rich(report: Report) -> None:
    from rich.table import Table
    from rich.text import Text

    from mtlsform.verification import REPORT_COLUMNS, UNWRAPPED_COLUMNS

    out = console.out()
    for line in _heading(report):
        out.print(line, markup=False, highlight=False)
    table = Table(show_lines=False, header_style="bold")
    for name in REPORT_COLUMNS:
        table.add_column(name, overflow="fold", no_wrap=name in UNWRAPPED_COLUMNS)
    for result in report.results:
        cells = result.cells()
        table.add_row(*(Text(c) for c in cells[:3]), Text(cells[3], style=STYLES[cells[3]]),
                      Text(cells[4]))
    out.print(table)
    out.print(Text(_summary(report), style="green" if report.passed else "bold red"))


def verify(
    stack_path: Path | None = STACK,
    requests: int = typer.Option(20, "--requests", metavar="N", min=1, max=100000,
                                 help="Requests per rule for the spread check."),
    address: str = typer.Option(None, "--address", metavar="HOST:PORT",
                                help="Connect here for every listener instead of the VIP."),
    var: list[str] = VARS,
    var_file: list[Path] = VAR_FILES,
    json_output: bool = typer.Option(False, "--json", help="The results as JSON on stdout."),
    state: Path = STATE,
    workspace: str | None = WORKSPACE,
) -> None:
    """Check a deployed stack with real mTLS requests (exit 1 if a check fails)."""
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_exit, write_out
    from mtlsform.session import state_path_for, store_for
    from mtlsform.verification import verify_stack

    where = parse_address(address)
    stack_path = stack_or_default(stack_path)
    stack = load_stack_or_exit(stack_path, var, json_output=json_output, var_files=var_file,
                               workspace=workspace)
    recorded = store_for(stack, state).read_unlocked()  # in the stack's backend
    path = state_path_for(stack, state)  # beside it: the embedded emulator's data
    report = verify_stack(stack, recorded, path, requests=requests, address=where)
    if json_output:
        write_out(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    elif console.out().is_terminal:
        _print_rich(report)
    else:
        write_out(render_plain(report))
    raise typer.Exit(0 if report.passed else 1)


def register(app: typer.Typer) -> None:
    """Adds `verify` to the app."""
    app.command(cls=HelpCommand)(verify)
