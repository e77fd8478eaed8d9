"""`verify` for the stack's redirects: each rule with `redirect:` on an HTTP listener is asked
for a page with a plain HTTP request, and must answer the declared code with the Location the
redirect makes (the target listener's scheme and port, this domain, and the request's own path
and query with `take_url`, else the target rule's URL).

A redirect removed in the cloud (DeleteRewrite) makes the rule forward instead, so the answer
is not the code: the check fails and says what came back.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from dataclasses import dataclass, replace

from mtlsform.addresses import Address
from mtlsform.stack.model import Stack
from mtlsform.state.model import State
from mtlsform.verification.entries import server_name_for
from mtlsform.verification.model import REDIRECT, CheckResult, Status

PROBE_QUERY = "mtlsform-verify=redirect"  # sent with take_url: it must come back unchanged
TIMEOUT = 10.0
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RedirectEntry:
    """One redirecting rule, as the check probes it."""

    listener: str
    domain: str
    url: str  # the source rule's URL (the report's column)
    host: str  # where to connect
    port: int
    path: str  # requested
    host_header: str
    code: int
    location: str  # expected
    listener_id: str | None = None
    skip_reason: str | None = None

    @property
    def where(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def redirect_entries(stack: Stack, state: State) -> list[RedirectEntry]:
    """Every redirecting rule of the stack, in stack order."""
    found = []
    for listener in stack.listeners.values():
        lb = state.get(Address("load_balancer", listener.load_balancer))
        recorded = state.get(Address("listener", listener.name))
        vip = (lb.attributes.get("vip") if lb is not None else None) or ""
        for rule in listener.rules:
            redirect = rule.redirect
            if redirect is None:
                continue
            target = stack.listeners[redirect.listener]
            scheme = target.protocol.lower()
            port = "" if DEFAULT_PORTS.get(scheme) == target.port else f":{target.port}"
            name, skip = server_name_for(rule.domain)
            name = name or rule.domain
            plain = rule.url if rule.url.startswith("/") else "/"
            path = f"{plain}?{PROBE_QUERY}" if redirect.take_url else plain
            goal = path if redirect.take_url else (redirect.url or rule.url)
            if listener.protocol != "HTTP":
                skip = skip or "verify asks redirects of HTTP listeners only"
            found.append(RedirectEntry(
                listener=listener.name, domain=rule.domain, url=rule.url, host=vip,
                port=listener.port, path=path, host_header=name, code=redirect.code,
                location=f"{scheme}://{name}{port}{goal}",
                listener_id=recorded.attributes.get("id") if recorded is not None else None,
                skip_reason=skip))
    return found


def check_redirect(entry: RedirectEntry) -> CheckResult:
    """Asks the rule for its page: the declared code and Location pass."""
    def result(status: Status, reason: str) -> CheckResult:
        return CheckResult(entry.listener, entry.domain, REDIRECT, status, reason, url=entry.url,
                           details={"expected_code": entry.code,
                                    "expected_location": entry.location})

    if entry.skip_reason is not None:
        return result("skip", entry.skip_reason)
    conn = http.client.HTTPConnection(entry.host, entry.port, timeout=TIMEOUT)
    try:
        conn.request("GET", entry.path, headers={"Host": entry.host_header})
        response = conn.getresponse()
        response.read()
        status, location = response.status, response.getheader("Location")
        reason_phrase = response.reason
    except (OSError, http.client.HTTPException) as exc:
        return result("fail", f"http://{entry.where}{entry.path} could not be asked: {exc}")
    finally:
        conn.close()
    if status != entry.code:
        gone = "" if 300 <= status < 400 else " (no redirect: it was removed?)"
        return result("fail", f"answered {status} {reason_phrase}{gone}, not {entry.code} to "
                              f"{entry.location}")
    if location != entry.location:
        return result("fail", f"{status} to {location!r}, not to {entry.location}")
    return result("pass", f"{status} {reason_phrase} to {location}")


def check_redirects(entries: list[RedirectEntry],
                    locate: Callable[[RedirectEntry], tuple[str, int] | str | None]
                    ) -> list[CheckResult]:
    """The checks of every redirect; `locate` says where a listener is served (host, port),
    or why it is not (a text), or None for where the entry says."""
    results = []
    for entry in entries:
        where = locate(entry) if entry.skip_reason is None else None
        if isinstance(where, str):
            results.append(CheckResult(entry.listener, entry.domain, REDIRECT, "fail",
                                       f"the listener is not served: {where}", url=entry.url))
            continue
        if where is not None:
            entry = replace(entry, host=where[0], port=where[1])
        results.append(check_redirect(entry))
    return results
