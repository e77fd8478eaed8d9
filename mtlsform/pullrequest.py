"""The plan comment on a pull request (GitHub) or merge request (GitLab): the comment that
carries the plan's marker is found and updated in place, or created when there is none.

Three calls of each forge's REST API are used: list the comments (page by page), create one,
update one. The token comes from the environment only (`GITHUB_TOKEN`, `GITLAB_TOKEN`), is
held as `Sensitive`, is sent only to the API URL named, never across a redirect, and never
appears in a message.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from mtlsform.errors import InputError, MtlsformError
from mtlsform.sensitive import Sensitive

FORGES = ("github", "gitlab")
MARKER = re.compile(r"^<!-- mtlsform-plan: (.+) -->$")
PAGE_SIZE = 100
MAX_PAGES = 100  # 10,000 comments: a pull request with more is not looked through further
TIMEOUT = 30.0  # seconds for each call
GITHUB_COMMENT_LIMIT = 65_536


class CommentError(MtlsformError):
    """The forge refused a call or could not be reached."""


@dataclass(frozen=True)
class Forge:
    """Where the comment goes: the forge, its API, the repository or project, the number of
    the pull or merge request, and the token."""

    kind: str  # github | gitlab
    api_url: str  # e.g. https://api.github.com, https://gitlab.example.com/api/v4
    project: str  # OWNER/NAME on GitHub; the project ID or path on GitLab
    number: int
    token: Sensitive[str]

    @property
    def where(self) -> str:
        what = "pull request" if self.kind == "github" else "merge request"
        return f"{what} {self.number} of {self.project}"


@dataclass(frozen=True)
class Posted:
    """What `post_comment` did: `created` or `updated`, the comment's ID and web address."""

    action: str
    comment_id: int
    url: str


def detect_forge(environ: Mapping[str, str]) -> str | None:
    """github on GitHub Actions, gitlab on GitLab CI, else None."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("GITLAB_CI") == "true":
        return "gitlab"
    return None


def _event_number(environ: Mapping[str, str]) -> int | None:
    """The pull request's number from the GitHub Actions event file, when there is one."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = event.get("pull_request", {}).get("number") if isinstance(event, dict) else None
    return number if isinstance(number, int) else None


def _number(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"{name} should be a pull or merge request number, not {text!r}")
    return int(text)


def forge_from_env(kind: str | None, environ: Mapping[str, str], *, number: int | None = None,
                   project: str | None = None) -> Forge:
    """The forge of this CI job, from the flags given and the CI's variables."""
    chosen = kind or detect_forge(environ)
    if chosen is None:
        raise InputError("not on GitHub Actions or GitLab CI: say where the comment goes",
                         hint="give --on github or --on gitlab")
    if chosen not in FORGES:
        raise InputError(f"--on {chosen!r} is not github or gitlab")
    if chosen == "github":
        api = environ.get("GITHUB_API_URL") or "https://api.github.com"
        project = project or environ.get("GITHUB_REPOSITORY")
        number = number or _event_number(environ)
        token_name, project_name, number_name = ("GITHUB_TOKEN", "GITHUB_REPOSITORY",
                                                 "the event's pull_request.number")
    else:
        api = environ.get("CI_API_V4_URL", "")
        project = project or environ.get("CI_PROJECT_ID")
        number = number or _number(environ.get("CI_MERGE_REQUEST_IID"), "CI_MERGE_REQUEST_IID")
        token_name, project_name, number_name = ("GITLAB_TOKEN", "CI_PROJECT_ID",
                                                 "CI_MERGE_REQUEST_IID")
        if not api:
            raise InputError("CI_API_V4_URL is not set: the GitLab API is not known",
                             hint="GitLab CI sets it; elsewhere set it, e.g. "
                                  "https://gitlab.example.com/api/v4")
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"the {chosen} API URL {api!r} is not an http or https URL")
    if not project:
        raise InputError(f"the repository is not known: {project_name} is not set",
                         hint="give --repo")
    if number is None:
        raise InputError(f"the pull or merge request is not known ({number_name} is missing)",
                         hint="give --pr N")
    token = environ.get(token_name, "")
    if not token:
        raise InputError(f"{token_name} is not set: the comment cannot be posted",
                         hint=f"pass the token from the CI's secret store as {token_name}")
    return Forge(chosen, api.rstrip("/"), project, number, Sensitive(token))


def comment_marker(body: str) -> str:
    """The marker line the comment starts with (`<!-- mtlsform-plan: STACK -->`)."""
    first = body.split("\n", 1)[0].strip()
    if not MARKER.match(first):
        raise InputError("the comment does not start with the mtlsform plan marker "
                         "(<!-- mtlsform-plan: STACK -->)",
                         hint="post what `mtlsform plan --format markdown` or `mtlsform show "
                              "PLAN --format markdown` printed")
    return first


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the token is never sent to another address."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _headers(forge: Forge) -> dict[str, str]:
    token = forge.token.reveal()
    if forge.kind == "github":
        return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28"}
    return {"PRIVATE-TOKEN": token}


def _call(forge: Forge, method: str, path: str, payload: Mapping[str, Any] | None = None
          ) -> Any:
    url = forge.api_url + path
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        **_headers(forge), "User-Agent": "mtlsform", "Content-Type": "application/json"})
    shown = f"{method} {url.split('?', 1)[0]}"
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        raise CommentError(f"{shown} answered {exc.code}{_said(exc)}",
                           hint=_status_hint(exc.code, forge)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CommentError(f"{shown} failed: {reason}",
                           hint="check the API URL and the network of the CI runner") from None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise CommentError(f"{shown} did not answer JSON",
                           hint="is the URL the forge's API?") from None


def _said(exc: urllib.error.HTTPError) -> str:
    """The forge's own message, when it gave one."""
    try:
        body = json.loads(exc.read() or b"null")
    except (ValueError, OSError):
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f": {str(message)[:200]}" if message else ""


def _status_hint(status: int, forge: Forge) -> str:
    token = "GITHUB_TOKEN" if forge.kind == "github" else "GITLAB_TOKEN"
    if status in (401, 403):
        return (f"the token in {token} is refused or may not write comments "
                "(GitHub: `permissions: pull-requests: write`; GitLab: a token with api scope)")
    if status == 404:
        return f"check that {forge.where} exists and the token can see it"
    if 300 <= status < 400:
        return "the API URL redirects; give the API's own URL"
    return "try again later, or post the comment by hand"


def _base(forge: Forge) -> str:
    if forge.kind == "github":
        return f"/repos/{forge.project}/issues"
    return f"/projects/{quote(forge.project, safe='')}/merge_requests/{forge.number}/notes"


def _list_path(forge: Forge, page: int) -> str:
    if forge.kind == "github":
        return (f"{_base(forge)}/{forge.number}/comments?per_page={PAGE_SIZE}&page={page}")
    return (f"{_base(forge)}?per_page={PAGE_SIZE}&page={page}&sort=asc&order_by=created_at")


def find_comment(forge: Forge, marker: str) -> int | None:
    """The ID of the oldest comment that starts with `marker`, or None."""
    for page in range(1, MAX_PAGES + 1):
        comments = _call(forge, "GET", _list_path(forge, page))
        if not isinstance(comments, list):
            raise CommentError(f"listing the comments of {forge.where} did not give a list")
        for comment in comments:
            body = comment.get("body") if isinstance(comment, dict) else None
            if isinstance(body, str) and body.split("\n", 1)[0].strip() == marker:
                found = comment.get("id")
                if isinstance(found, int):
                    return found
        if len(comments) < PAGE_SIZE:
            return None
    return None


def post_comment(forge: Forge, body: str) -> Posted:
    """Updates the comment carrying the body's marker, or creates it."""
    marker = comment_marker(body)
    if forge.kind == "github" and len(body) > GITHUB_COMMENT_LIMIT:
        raise InputError(f"the comment has {len(body)} characters; GitHub takes at most "
                         f"{GITHUB_COMMENT_LIMIT}")
    existing = find_comment(forge, marker)
    if existing is None:
        path = f"{_base(forge)}/{forge.number}/comments" if forge.kind == "github" \
            else _base(forge)
        answer = _call(forge, "POST", path, {"body": body})
        action = "created"
    elif forge.kind == "github":
        answer = _call(forge, "PATCH", f"{_base(forge)}/comments/{existing}", {"body": body})
        action = "updated"
    else:
        answer = _call(forge, "PUT", f"{_base(forge)}/{existing}", {"body": body})
        action = "updated"
    answer = answer if isinstance(answer, dict) else {}
    comment_id = answer.get("id", existing)
    url = answer.get("html_url") or answer.get("web_url") or ""
    return Posted(action, comment_id if isinstance(comment_id, int) else -1, str(url))
