"""Command: `certs status STACK`: every certificate of the stack, its expiry and days left,
where it is used; exit 2 when any is inside its window (for a scheduled job to alert)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.options import STACK, STATE, VAR_FILES, VARS, WORKSPACE

if TYPE_CHECKING:
    from mtlsform.state.model import State

FORMATS = ("text", "json", "prometheus")


def status_command(
    stack_path: Path | None = STACK,
    as_json: bool = typer.Option(False, "--json", help="The same as --format json."),
    output_format: str | None = typer.Option(
        None, "--format", metavar="text|json|prometheus", show_default=False,
        help="text (default), json, or prometheus (the text format of node_exporter's "
             "textfile collector)."),
    warn_days: int | None = typer.Option(
        None, "--warn-days", metavar="N", min=0,
        help="Report a certificate within N days of its expiry (default: its "
             "renew_before_days)."),
    at: str | None = typer.Option(None, "--at", metavar="DATE",
                                  help="As of this date (2027-01-15 or an ISO date and time, "
                                       "UTC) instead of now."),
    refresh: bool = typer.Option(False, "--refresh",
                                 help="Also read the cloud: report uploads it no longer holds."),
    var: list[str] = VARS,
    var_file: list[Path] = VAR_FILES,
    state: Path = STATE,
    workspace: str | None = WORKSPACE,
) -> None:
    """Certificates of a stack with expiry and days left. Exit 0: all outside their windows,
    2: any inside its window, expired, not applied or missing in the cloud, 1: error."""
    from mtlsform import certstatus
    from mtlsform.cli.conflicts import output_format as chosen_format
    from mtlsform.cli.defaultstack import stack_or_default
    from mtlsform.cli.stackload import load_stack_or_raise
    from mtlsform.instants import parse_instant
    from mtlsform.session import open_session, read_recorded_state

    chosen = chosen_format(output_format, json_output=as_json, formats=FORMATS)
    moment = parse_instant(at) if at is not None else datetime.now(UTC)
    stack = load_stack_or_raise(stack_or_default(stack_path), var, var_files=var_file,
                                workspace=workspace)
    seen: dict[str, bool] | None = None
    recorded: State | None
    if refresh:
        with open_session(stack, operation="certs status", state_path=state) as session:
            recorded = session.state
            ids = certstatus.upload_ids(recorded)
            found = session.provider.read_certificates(ids)
            seen = {cert_id: cert_id in found for cert_id in ids}
    else:
        _, recorded = read_recorded_state(stack, state)
    rows = certstatus.status_rows(stack, recorded, moment, warn_days=warn_days,
                                  uploads_seen=seen)
    render = {"text": certstatus.render_text, "json": certstatus.render_json,
              "prometheus": certstatus.render_prometheus}[chosen]
    console.out().print(render(stack, rows, moment), end="", markup=False, highlight=False,
                        soft_wrap=True)
    if any(row.due for row in rows):
        raise typer.Exit(certstatus.DUE_EXIT_CODE)
