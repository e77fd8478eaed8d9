"""Rule checks: domain syntax, session persistence, health check, the backends bound."""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic, Position, error, warning
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import exists, line_of, unknown
from mtlsform.stack.model import Backend, Rule, folded_domain
from mtlsform.stack.values import quote

BACKENDS_PER_RULE = 100  # CLB use limits: servers bound per rule
_DOMAIN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")

# A real server and port: ("instance", instance id, port) or ("ip", address, port).
_Server = tuple[str, str | None, int]


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for listener, rules in parts.rules.items():
        for i, rule in enumerate(rules):
            where = parts.rule_path(listener, i)
            domain = _domains(rule, where)
            found += domain
            found += _url(rule, where)
            found += _session(rule, where)
            found += _health_check(rule, where, domain_ok=not domain)
            found += _backends(rule, where, parts)
    found += _unused_backends(parts)
    return found


def _domains(rule: Rule, where: str) -> list[Diagnostic]:
    """The rule's domain, or each domain of a multi-domain rule (each once)."""
    if not rule.domains:
        return domain_problems(rule.domain, f"{where}.domain", rule.positions.at("domain"))
    found: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for index, name in enumerate(rule.domains):
        path, position = f"{where}.domain.{index}", rule.positions.at(f"domain.{index}")
        found += domain_problems(name, path, position)
        folded = folded_domain(name)
        if folded in seen:
            found.append(error(
                f"{quote(name)} is given twice in this rule's domains "
                f"(also as domain.{seen[folded]})",
                path=path, position=position, hint="remove one of them"))
        seen.setdefault(folded, index)
    return found


def domain_problems(domain: str, where: str, position: Position | None, *,
                    patterns: bool = True) -> list[Diagnostic]:
    """A domain: letters, digits, '-' and '.', a '*' first or last, or (patterns) a ~regex."""
    hint = ("plain domains use letters, digits, '-' and '.'; a wildcard '*' goes first or last"
            + ("; a regex starts with '~'" if patterns else ""))

    def bad(message: str) -> list[Diagnostic]:
        return [error(f"{quote(domain)} is not a valid domain: {message}", path=where,
                      position=position, hint=hint)]

    if domain.startswith("~"):
        if not patterns:
            return bad("a regex is not allowed here")
        return bad("the regex after '~' is empty") if not domain[1:].strip() else []
    if "*" in domain and not patterns:
        return bad("a wildcard is not allowed here")
    if domain == "*":
        return bad("a wildcard needs the rest of a domain, e.g. *.example.com")
    if "*" in domain[1:-1]:
        return bad("'*' may only be the first or the last character")
    plain = domain.strip("*")
    for char in plain:
        if char not in _DOMAIN_CHARS:
            return bad(f"{char!r} is not allowed")
    if (plain.startswith(".") and not domain.startswith("*.")) or ".." in plain or (
            plain.endswith(".") and not domain.endswith(".*")) or not plain.strip("."):
        return bad("it has an empty label")
    return []


def _url(rule: Rule, where: str) -> list[Diagnostic]:
    if any(char.isspace() for char in rule.url):
        return [error(f"url {quote(rule.url)} contains a space", path=f"{where}.url",
                      position=rule.positions.at("url"), hint="encode spaces as %20")]
    return []


def _session(rule: Rule, where: str) -> list[Diagnostic]:
    seconds = rule.session_persistence
    if seconds == 0 or 30 <= seconds <= 86400:
        return []
    return [error(f"session_persistence {seconds} is not allowed: use 0 (off) or 30 to 86400 "
                  "seconds", path=f"{where}.session_persistence",
                  position=rule.positions.at("session_persistence"),
                  hint="the cloud keeps sessions for at least 30 seconds")]


def _health_check(rule: Rule, where: str, *, domain_ok: bool) -> list[Diagnostic]:
    check = rule.health_check
    found = []
    at = check.positions.at
    if check.timeout >= check.interval:
        key = "timeout" if "timeout" in check.positions.fields else "interval"
        found.append(error(
            f"timeout ({check.timeout}) must be less than interval ({check.interval})",
            path=f"{where}.health_check.{key}", position=at(key),
            hint="a check must time out before the next one starts"))
    if check.domain is not None:
        found += domain_problems(check.domain, f"{where}.health_check.domain", at("domain"),
                                 patterns=False)
    elif check.enabled and domain_ok and ("*" in rule.domain or rule.domain.startswith("~")):
        found.append(warning(
            f"the health check's Host header defaults to the rule's domain {quote(rule.domain)}, "
            "which is not a real host name", path=f"{where}.health_check",
            position=at() or rule.positions.at("domain"),
            hint="set health_check.domain to a host name the backends answer to"))
    return found


def _backends(rule: Rule, where: str, parts: Parts) -> list[Diagnostic]:
    found = []
    seen: dict[str, int] = {}
    servers: dict[_Server, str] = {}
    weights = []
    for i, bound in enumerate(rule.backends):
        bwhere, position = f"{where}.backends[{i}]", bound.positions.at("backend")
        name = bound.backend
        if not exists(parts, "backends", name):
            found.append(unknown(parts, "backends", name, path=bwhere, position=position))
            continue
        if name in seen:
            first = rule.backends[seen[name]]
            found.append(error(
                f"backend {name!r} is listed twice in this rule (first at "
                f"{line_of(first.positions.at())})", path=bwhere, position=position,
                hint="list each backend once; set its weight with {backend: NAME, weight: N}"))
            continue
        seen[name] = i
        backend = parts.backends.get(name)
        if backend is None:
            continue
        weights.append(bound.weight if bound.weight is not None else backend.weight)
        server = _server(backend)
        if server in servers:
            found.append(error(
                f"backend {name!r} is the same server and port as {servers[server]!r} "
                f"({server[0]} {server[1]} port {server[2]})", path=bwhere, position=position,
                hint="a rule binds a server and port once; remove one of them"))
        servers.setdefault(server, name)
    if not rule.backends and rule.redirect is None:  # a redirect forwards nothing
        found.append(warning("this rule has no backends, so its requests will fail",
                             path=where, position=rule.positions.at(),
                             hint="add backends: [NAME, ...]"))
    elif weights and len(weights) == len(rule.backends) and not any(weights):
        found.append(warning("every backend of this rule has weight 0, so none gets requests",
                             path=f"{where}.backends", position=rule.positions.at("backends"),
                             hint="give at least one backend a weight above 0"))
    if len(rule.backends) > BACKENDS_PER_RULE:
        found.append(warning(
            f"{len(rule.backends)} backends; the CLB limit is {BACKENDS_PER_RULE} per rule",
            path=f"{where}.backends", position=rule.positions.at("backends")))
    return found


def _server(backend: Backend) -> _Server:
    if backend.instance is not None:
        return ("instance", backend.instance, backend.port)
    return ("ip", backend.ip, backend.port)


def _unused_backends(parts: Parts) -> list[Diagnostic]:
    if not parts.all_listeners_built():
        return []  # a listener could not be read: it may use them
    used = {b.backend for listener in parts.listeners.values() for rule in listener.rules
            for b in rule.backends}
    return [
        warning(f"backend {name!r} is not used by any rule", path=f"backends.{name}",
                position=backend.positions.at(), hint="bind it in a rule, or remove it")
        for name, backend in parts.backends.items() if name not in used
    ]
