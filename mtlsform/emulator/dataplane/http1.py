"""HTTP/1.1 message heads for a reverse proxy, parsed strictly (RFC 9110, RFC 9112).

Heads are parsed into `Head` values (start line + ordered header list). What a lenient parser
behind the proxy could read differently from the proxy is refused instead of guessed: a start
line that is not exactly three parts, a method or field name that is not a token, a target or
value holding a control character (CR, LF and NUL above all: a bare LF inside a value would
start a forged header for the backend), obs-fold, whitespace before the colon. `check_request`
then refuses what is well formed but ambiguous: no Host in HTTP/1.1 or several, an invalid
Host, a target in an unknown form, `Connection` options that are not tokens. Bodies are in
`bodies.py`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "proxy-authenticate", "proxy-authorization",
})
# What `Connection` can never remove: the Host, and the framing the proxy sets itself.
NOT_HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding"})

REASONS = {
    100: "Continue", 200: "OK", 301: "Moved Permanently", 302: "Found",
    307: "Temporary Redirect", 400: "Bad Request", 404: "Not Found",
    408: "Request Timeout", 413: "Content Too Large", 421: "Misdirected Request",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # every CTL but HTAB
_TARGET = re.compile(r"[\x21-\x7e]+")  # visible ASCII, no space
_VERSION = re.compile(r"HTTP/([0-9])\.[0-9]")
_STATUS = re.compile(r"[0-9]{3}")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")


class WriteFailed(Exception):
    """The receiving side of a relay went away (so the reading side is not to blame)."""


class HttpError(Exception):
    """A malformed message: answer `status` (when we still can) and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Head:
    """A request or response head: the three start-line words and the headers in order."""

    start: tuple[str, str, str]
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of a header, lower-cased (e.g. Connection)."""
        found: set[str] = set()
        for value in self.get_all(name):
            found.update(token.strip().lower() for token in value.split(",") if token.strip())
        return found

    def without(self, names: set[str] | frozenset[str]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.headers if k.lower() not in names]

    # Request views
    @property
    def method(self) -> str:
        return self.start[0]

    @property
    def target(self) -> str:
        return self.start[1]

    # Response view
    @property
    def status(self) -> int:
        return int(self.start[1])


async def read_head(reader: asyncio.StreamReader, *, response: bool = False,
                    first: bytes = b"") -> Head | None:
    """Reads one head; None on a clean EOF before its first byte. `first` is what was already
    read of it. Malformed requests raise HttpError 400 (431 too large), responses 502."""
    raw = first
    while True:
        try:
            raw += await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not (raw + exc.partial).strip():
                return None
            raise HttpError(502 if response else 400,
                            "connection closed in the middle of a message head") from None
        except asyncio.LimitOverrunError:
            raise HttpError(502 if response else 431, "message head too large") from None
        if len(raw) > MAX_HEAD:
            raise HttpError(502 if response else 431, "message head too large")
        raw = raw.lstrip(b"\r\n")  # stray CRLF between messages are ignored (RFC 9112 §2.2)
        if raw:
            return parse_head(raw, response=response)


def parse_head(raw: bytes, *, response: bool = False) -> Head:
    """The head in `raw` (ending with its empty line), checked as the module says."""
    status = 502 if response else 400
    lines = raw.decode("latin-1").split("\r\n")[:-2]
    start = _status_line(lines[0]) if response else _request_line(lines[0])
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            raise HttpError(status, "obsolete line folding (a header line starting with "
                                    "whitespace) is not accepted")
        name, sep, value = line.partition(":")
        if not sep or not TOKEN.fullmatch(name):
            raise HttpError(status, "malformed header line: the field name must be a token "
                                    "directly followed by a colon")
        value = value.strip(" \t")
        if _CONTROL.search(value):
            raise HttpError(status, f"the value of header {name} holds a control character "
                                    "(CR, LF, NUL or another)")
        headers.append((name, value))
    return Head(start, headers)


def _request_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line: expected METHOD TARGET HTTP/1.1, "
                             "separated by single spaces")
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise HttpError(400, "malformed request line: the method is not a token")
    if not _TARGET.fullmatch(target):
        raise HttpError(400, "malformed request line: the target holds a character that is "
                             "not visible ASCII")
    match = _VERSION.fullmatch(version)
    if match is None:
        raise HttpError(400, "malformed request line: the version is not HTTP/1.1")
    if match.group(1) != "1":
        raise HttpError(505, "only HTTP/1.x is served")
    return (method, target, version)


def _status_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ", 2)
    if len(parts) == 2:
        parts.append("")
    if len(parts) != 3 or not _VERSION.fullmatch(parts[0]) or not parts[0].startswith("HTTP/1.") \
            or not _STATUS.fullmatch(parts[1]) or _CONTROL.search(parts[2]):
        raise HttpError(502, "malformed status line from the backend")
    return (parts[0], parts[1], parts[2])


def check_request(head: Head) -> None:
    """Refuses a well-formed request whose meaning is ambiguous (HttpError 400 or 501)."""
    hosts = head.get_all("host")
    if len(hosts) > 1:
        raise HttpError(400, "more than one Host header")
    if not hosts and request_version(head) != "HTTP/1.0":
        raise HttpError(400, "no Host header (HTTP/1.1 requires one)")
    if hosts and not _HOST.fullmatch(hosts[0]):
        raise HttpError(400, "the Host header is not a host name or address with a port")
    target = head.target
    if head.method == "CONNECT":
        raise HttpError(501, "CONNECT is not supported")
    if target == "*":
        if head.method != "OPTIONS":
            raise HttpError(400, "the target * is only for OPTIONS")
    elif not target.startswith("/"):
        authority = absolute_authority(target)
        if authority is None:
            raise HttpError(400, "the target must be a path (/...) or an absolute http(s) URL")
        if "@" in authority or not authority or not _HOST.fullmatch(authority):
            raise HttpError(400, "the host of the absolute target is not a host name or "
                                 "address with a port")
    for value in head.get_all("connection"):
        for option in value.split(","):
            if option.strip(" \t") and not TOKEN.fullmatch(option.strip(" \t")):
                raise HttpError(400, "a Connection option is not a token")


def absolute_authority(target: str) -> str | None:
    """The authority of an absolute-form http(s) target, or None for any other form."""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    return rest[:end]


def origin_path(target: str) -> str:
    """The origin-form path (with query) of a target in origin or absolute form."""
    authority = absolute_authority(target)
    if authority is None:
        return target
    rest = target.partition("://")[2][len(authority):]
    return rest if rest.startswith("/") else "/" + rest


def request_version(head: Head) -> str:
    return head.start[2]


def serialize_head(start: tuple[str, str, str], headers: list[tuple[str, str]]) -> bytes:
    lines = [" ".join(start)] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")


def simple_response(status: int, message: str, *, keep_alive: bool,
                    extra: list[tuple[str, str]] | None = None, head_only: bool = False) -> bytes:
    """A short plain-text response generated by the data plane itself."""
    body = f"{status} {REASONS.get(status, 'Error')}: {message}\n".encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "keep-alive" if keep_alive else "close"),
        ("Server", "mtlsform-emulator"),
        *(extra or []),
    ]
    head = serialize_head(("HTTP/1.1", str(status), REASONS.get(status, "Error")), headers)
    return head if head_only else head + body


def wants_keep_alive(head: Head) -> bool:
    """Whether the client asked to keep the connection open after this request."""
    tokens = head.tokens("connection")
    if request_version(head) == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens
