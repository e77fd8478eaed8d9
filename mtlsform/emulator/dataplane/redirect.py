"""The redirect a forwarding rule answers with when it has one (ManualRewrite, AutoRewrite).

A rule that redirects forwards nothing: every request it matches gets `RewriteCode` (301, 302
or 307) and a `Location` on the target listener: its scheme (https for an HTTPS listener), the
host the client asked for (without its port), the target listener's port when it is not the
scheme's default, and the path: the request's own path and query with `TakeUrl`, else the
target rule's URL (`/` for a regular-expression URL). The port is the cloud's (443), not the
loopback port the emulator's data plane serves it on: the Location is what a client of the
real VIP would follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlsform.emulator.world import LoadBalancer, Rule

REDIRECT_REASONS = {301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect"}
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RedirectConfig:
    code: int
    scheme: str  # of the target listener: "https" or "http"
    port: int  # the target listener's port
    url: str  # the target rule's URL
    take_url: bool = False

    def location(self, host: str, path: str) -> str:
        """Where a request for `host` and `path` (origin form, with query) is sent."""
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        port = "" if DEFAULT_PORTS.get(self.scheme) == self.port else f":{self.port}"
        where = path if self.take_url else self.url if self.url.startswith("/") else "/"
        return f"{self.scheme}://{name}{port}{where}"


def redirect_config(rule: Rule, lb: LoadBalancer) -> RedirectConfig | None:
    """The redirect of a rule, or None when it has none (or its target is gone)."""
    rewrite = rule.rewrite
    if rewrite is None:
        return None
    target_listener = lb.listeners.get(rewrite.target_listener_id)
    if target_listener is None:
        return None
    target = target_listener.rules.get(rewrite.target_location_id)
    if target is None:
        return None
    return RedirectConfig(code=rewrite.rewrite_code, scheme=target_listener.protocol.lower(),
                          port=target_listener.port, url=target.url, take_url=rewrite.take_url)
