"""Routing a request to a rule by host name (SNI or Host) and URL path, nginx-style.

Domains, most specific first: an exact name (case-insensitive); the longest leading wildcard
(`*.example.com`, any depth of sub-domain, not the bare name); the longest trailing wildcard
(`www.example.*`); then regular expressions (`~...`, searched in rule order against the lower-case
name). A name that matches no domain goes to the listener's default domain: the rule marked
DefaultServer, else the first rule's domain.

URLs within the chosen domain follow nginx's `location` order: `=/path` matches exactly and wins;
otherwise the longest plain prefix is remembered; a `^~/prefix` longest match wins at once;
otherwise the first regular expression (`~` case-sensitive, `~*` case-insensitive) that matches
wins; otherwise the remembered longest prefix. Paths are matched without the query string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mtlsform.emulator.dataplane.config import RouteConfig, TlsPolicy


def host_without_port(host: str) -> str:
    """`www.example.com:8443` -> `www.example.com`; `[::1]:443` -> `::1`; lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _regex(pattern: str, flags: int = 0) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, flags)
    except re.error:
        return None


def match_domain(patterns: Sequence[str], name: str) -> str | None:
    """The best pattern among `patterns` for host `name`, or None."""
    name = host_without_port(name)
    exact = [p for p in patterns if not p.startswith(("~", "*")) and not p.endswith("*")]
    for pattern in exact:
        if pattern.lower() == name:
            return pattern
    leading = [p for p in patterns if p.startswith("*.")]
    hits = [p for p in leading if name.endswith(p[1:].lower()) and len(name) > len(p) - 1]
    if hits:
        return max(hits, key=len)
    trailing = [p for p in patterns if p.endswith(".*") and not p.startswith("~")]
    hits = [p for p in trailing if name.startswith(p[:-1].lower()) and len(name) > len(p) - 1]
    if hits:
        return max(hits, key=len)
    for pattern in patterns:
        if pattern.startswith("~"):
            compiled = _regex(pattern[1:])
            if compiled is not None and compiled.search(name):
                return pattern
    return None


def match_url(urls: Sequence[str], path: str) -> str | None:
    """The winning URL rule among `urls` for `path` (nginx location order), or None."""
    path = path.split("?", 1)[0] or "/"
    for url in urls:
        if url.startswith("=") and url[1:] == path:
            return url
    longest: str | None = None
    for url in urls:
        if url.startswith(("=", "~")):
            continue
        prefix = url[2:] if url.startswith("^~") else url
        if path.startswith(prefix) and (longest is None or len(prefix) > len(_plain(longest))):
            longest = url
    if longest is not None and longest.startswith("^~"):
        return longest
    for url in urls:
        if url.startswith("~*"):
            compiled = _regex(url[2:], re.IGNORECASE)
        elif url.startswith("~"):
            compiled = _regex(url[1:])
        else:
            continue
        if compiled is not None and compiled.search(path):
            return url
    return longest


def _plain(url: str) -> str:
    return url[2:] if url.startswith("^~") else url


class RouteTable:
    """A listener's rules indexed for lookups by host name and path."""

    def __init__(self, routes: Sequence[RouteConfig]) -> None:
        self.routes = tuple(routes)
        self._domains: list[str] = []
        for route in self.routes:
            for domain in route.domains:
                if domain not in self._domains:
                    self._domains.append(domain)
        defaults = [r for r in self.routes if r.default_server and r.domains]
        first = defaults[0] if defaults else (self.routes[0] if self.routes else None)
        self.default_domain: str | None = first.domains[0] if first and first.domains else None

    def domain_for(self, name: str | None) -> str | None:
        """The domain pattern serving host `name` (the default domain when none matches)."""
        if name:
            found = match_domain(self._domains, name)
            if found is not None:
                return found
        return self.default_domain

    def route_for(self, name: str | None, path: str) -> RouteConfig | None:
        """The rule for a request to host `name` and `path`, or None (404)."""
        domain = self.domain_for(name)
        if domain is None:
            return None
        routes = [r for r in self.routes if domain in r.domains]
        url = match_url([r.url for r in routes], path)
        if url is None:
            return None
        return next(r for r in routes if r.url == url)

    def tls_for_domain(self, domain: str | None) -> TlsPolicy | None:
        """The SNI certificate policy of a domain: the first of its rules that has one."""
        for route in self.routes:
            if domain in route.domains and route.tls is not None:
                return route.tls
        return None
