"""A small local stand-in for the GitHub and GitLab REST APIs: the three calls `mtlsform
comment` makes (list comments page by page, create one, update one), on a real HTTP server on
loopback, recording every request. It stands in for a third-party service, not for a part of
mtlsform."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_forgeTestToken0123456789abcdef"

GITHUB_LIST = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
GITHUB_ONE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
GITLAB_LIST = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$")
GITLAB_ONE = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$")


@dataclass
class Forge:
    """What the server holds: comments per (project, number), and the requests it got."""

    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    refused: int = 0  # requests without the right token
    next_id: int = 1000
    url: str = ""
    redirect_to: str | None = None  # answer every call with a redirect there

    def add(self, project: str, number: int, body: str) -> int:
        self.next_id += 1
        self.comments.setdefault((project, number), []).append(
            {"id": self.next_id, "body": body})
        return self.next_id

    def bodies(self, project: str, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get((project, number), [])]


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None
                  ) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _authorised(self, gitlab: bool) -> bool:
            if gitlab:
                return self.headers.get("PRIVATE-TOKEN") == TOKEN
            return self.headers.get("Authorization") == f"Bearer {TOKEN}"

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return str(json.loads(self.rfile.read(length))["body"])

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            forge.requests.append((self.command, self.path))
            if forge.redirect_to is not None:
                self._send(302, {}, {"Location": forge.redirect_to})
                return
            gitlab = parts.path.startswith("/api/v4/")
            if not self._authorised(gitlab):
                forge.refused += 1
                self._send(401, {"message": "Bad credentials"})
                return
            query = parse_qs(parts.query)
            if m := (GITHUB_LIST.match(parts.path) or GITLAB_LIST.match(parts.path)):
                key = (m.group(1).replace("%2F", "/"), int(m.group(2)))
                listed = forge.comments.setdefault(key, [])
                if self.command == "GET":
                    size = int(query.get("per_page", ["30"])[0])
                    page = int(query.get("page", ["1"])[0])
                    self._send(200, listed[(page - 1) * size: page * size])
                    return
                if self.command == "POST":
                    forge.next_id += 1
                    listed.append({"id": forge.next_id, "body": self._body()})
                    self._send(201, {"id": forge.next_id, "html_url":
                                     f"{forge.url}/comment/{forge.next_id}"})
                    return
            one = GITHUB_ONE.match(parts.path) if self.command == "PATCH" else \
                GITLAB_ONE.match(parts.path) if self.command == "PUT" else None
            if one:
                wanted = int(one.groups()[-1])
                for comments in forge.comments.values():
                    for comment in comments:
                        if comment["id"] == wanted:
                            comment["body"] = self._body()
                            self._send(200, {"id": wanted})
                            return
            self._send(404, {"message": "Not Found"})

        do_GET = do_POST = do_PATCH = do_PUT = _handle

    return Handler


@contextmanager
def served_forge() -> Iterator[Forge]:
    """A Forge served on 127.0.0.1 (its `url` set) for the duration of the block."""
    forge = Forge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forge))
    forge.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
