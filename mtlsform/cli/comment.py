"""Command: `mtlsform comment FILE`: the plan comment on the pull or merge request, updated in
place (the comment carrying the plan's marker), or created when there is none."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from mtlsform.cli import console


def comment(
    file: Path = typer.Argument(..., metavar="FILE", show_default=False,
                                help="The Markdown of `plan --format markdown` or `show PLAN "
                                "--format markdown` (- reads it from stdin)."),
    on: str | None = typer.Option(None, "--on", metavar="github|gitlab", show_default=False,
                                  help="The forge (default: the CI this runs on)."),
    pr: int | None = typer.Option(None, "--pr", metavar="N", min=1, show_default=False,
                                  help="The pull or merge request (default: the CI's, "
                                  "GitHub's event or CI_MERGE_REQUEST_IID)."),
    repo: str | None = typer.Option(None, "--repo", metavar="OWNER/NAME|PROJECT",
                                    show_default=False,
                                    help="The repository (default: GITHUB_REPOSITORY or "
                                    "CI_PROJECT_ID)."),
) -> None:
    """Post the plan comment, updating the one already there (token: GITHUB_TOKEN or
    GITLAB_TOKEN from the CI's secret store)."""
    from mtlsform.errors import InputError
    from mtlsform.pullrequest import forge_from_env, post_comment

    forge = forge_from_env(on, os.environ, number=pr, project=repo)
    try:
        body = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    posted = post_comment(forge, body)
    where = f": {posted.url}" if posted.url else ""
    console.out().print(f"{posted.action.capitalize()} the plan comment on {forge.where}{where}",
                        markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Adds comment to the app."""
    from mtlsform.cli.helptext import HelpCommand

    app.command(cls=HelpCommand)(comment)
