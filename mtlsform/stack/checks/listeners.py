"""Listener checks: load balancer, ports, protocol against SNI and TLS, rules that clash."""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic, Position, error, warning
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import exists, line_of, unknown
from mtlsform.stack.checks.tls import check_tls
from mtlsform.stack.model import Listener, Rule, folded_domain
from mtlsform.stack.values import quote

LISTENERS_PER_LOAD_BALANCER = 50  # default CLB quota (TOTAL_LISTENER_QUOTA)
RULES_PER_LISTENER = 50  # default CLB quota (TOTAL_LISTENER_RULE_QUOTA)


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for listener in parts.listeners.values():
        found += _load_balancer(listener, parts)
        if listener.protocol == "HTTP":
            found += _http(listener, parts)
        elif listener.sni:
            found += _sni_on(listener, parts)
        else:
            found += _sni_off(listener, parts)
        found += _rule_keys(listener, parts)
        found += _domain_groups(listener, parts)
        if len(listener.rules) > RULES_PER_LISTENER:
            found.append(warning(
                f"{len(listener.rules)} rules; the default CLB quota is {RULES_PER_LISTENER} "
                "per listener", path=f"listeners.{listener.name}.rules",
                position=listener.positions.at("rules"),
                hint="ask Tencent Cloud to raise the quota, or split the rules"))
    found += _ports(parts)
    found += _partial_references(parts)
    return found


def _partial_references(parts: Parts) -> list[Diagnostic]:
    """The names a listener that could not be built refers to (its other problems are
    reported already; these would otherwise wait until those are fixed)."""
    found: list[Diagnostic] = []
    for name, (lb, position) in sorted(parts.partial_load_balancers.items()):
        if not exists(parts, "load_balancers", lb):
            found.append(unknown(parts, "load_balancers", lb,
                                 path=f"listeners.{name}.load_balancer", position=position))
    for name, tls in sorted(parts.partial_tls.items()):
        found += check_tls(tls, f"listeners.{name}.tls", parts, needs_certificate=None)
    return found


def _load_balancer(listener: Listener, parts: Parts) -> list[Diagnostic]:
    if exists(parts, "load_balancers", listener.load_balancer):
        return []
    return [unknown(parts, "load_balancers", listener.load_balancer,
                    path=f"listeners.{listener.name}.load_balancer",
                    position=listener.positions.at("load_balancer"))]


def _http(listener: Listener, parts: Parts) -> list[Diagnostic]:
    found = []
    where = f"listeners.{listener.name}"
    if listener.sni:
        found.append(error("sni is only for HTTPS listeners", path=f"{where}.sni",
                           position=listener.positions.at("sni"),
                           hint="remove sni, or use protocol: HTTPS"))
    tls_blocks = [(f"{where}.tls", listener.tls)]
    tls_blocks += [(f"{path}.tls", rule.tls) for path, rule in _rules(listener, parts)]
    for path, tls in tls_blocks:
        if tls is not None:
            found.append(error("an HTTP listener has no TLS", path=path,
                               position=tls.positions.at(),
                               hint="use protocol: HTTPS, or remove tls"))
    for path, rule in _rules(listener, parts):
        if rule.backend_protocol != "HTTP":
            found.append(error(
                f"an HTTP listener forwards to backends over HTTP only, not "
                f"{rule.backend_protocol}", path=f"{path}.backend_protocol",
                position=rule.positions.at("backend_protocol"),
                hint="use protocol: HTTPS on the listener, or backend_protocol: HTTP"))
    return found


def _sni_off(listener: Listener, parts: Parts) -> list[Diagnostic]:
    where = f"listeners.{listener.name}"
    found = []
    if listener.tls is None:
        found.append(error(
            "an HTTPS listener with sni: false needs tls with a certificate", path=where,
            position=listener.positions.at(),
            hint="add tls: {certificate: NAME} (and client_ca: NAME for mutual TLS)"))
    else:
        found += check_tls(listener.tls, f"{where}.tls", parts, needs_certificate=(
            "tls.certificate is missing: with sni: false the listener presents one certificate "
            "for all its rules"))
    for path, rule in _rules(listener, parts):
        if rule.tls is not None:
            found.append(error(
                "a rule has its own tls only when its listener has sni: true",
                path=f"{path}.tls", position=rule.tls.positions.at(),
                hint="remove it (the listener's tls applies to every rule), or set sni: true "
                     "on the listener"))
    return found


def _sni_on(listener: Listener, parts: Parts) -> list[Diagnostic]:
    where = f"listeners.{listener.name}"
    found = []
    tls = listener.tls
    if tls is not None and tls.certificate is not None:
        found.append(error(
            "with sni: true the listener has no certificate of its own",
            path=f"{where}.tls.certificate", position=tls.positions.at("certificate"),
            hint="move the certificate to the tls of each rule (one per domain)"))
    elif tls is not None:
        found.append(error(
            "with sni: true the listener has no tls; each rule carries its own",
            path=f"{where}.tls", position=tls.positions.at(),
            hint="move mode and client_ca to the tls of each rule"))
    first_of_domain: dict[str, tuple[int, Rule]] = {}
    for i, rule in enumerate(listener.rules):
        rwhere = parts.rule_path(listener.name, i)
        if rule.tls is None:
            found.append(error(
                "with sni: true every rule needs tls with its domain's certificate",
                path=rwhere, position=rule.positions.at(),
                hint="add tls: {certificate: NAME} to this rule"))
            continue
        found += check_tls(rule.tls, f"{rwhere}.tls", parts, needs_certificate=(
            "tls.certificate is missing: with sni: true each rule presents its domain's "
            "certificate"))
        domain = rule.domain.lower()
        if domain not in first_of_domain:
            first_of_domain[domain] = (i, rule)
            continue
        j, first = first_of_domain[domain]
        assert first.tls is not None
        if _tls_key(first) != _tls_key(rule):
            found.append(error(
                f"every rule of domain {quote(rule.domain)} must have the same tls, but this one "
                f"differs from {_other(parts, listener, j, first.tls.positions.at())}",
                path=f"{rwhere}.tls", position=rule.tls.positions.at(),
                hint="SNI picks one certificate and mode per domain; make the tls blocks equal"))
    return found


def _rules(listener: Listener, parts: Parts) -> list[tuple[str, Rule]]:
    """Each rule with its path (`listeners.https.rules[3]`)."""
    return [(parts.rule_path(listener.name, i), rule) for i, rule in enumerate(listener.rules)]


def _other(parts: Parts, listener: Listener, i: int, position: Position | None) -> str:
    """Another rule, as a message names it: `rules[0] (line 12)`."""
    return f"rules[{parts.rule_index(listener.name, i)}] ({line_of(position)})"


def _tls_key(rule: Rule) -> tuple[str, tuple[str, ...], str | None]:
    tls = rule.tls
    assert tls is not None
    return (tls.mode, tls.servers, tls.client_ca if tls.mode == "mutual" else None)


def _rule_keys(listener: Listener, parts: Parts) -> list[Diagnostic]:
    found = []
    seen: dict[tuple[str, str], int] = {}
    seen_keys: dict[str, int] = {}
    for i, rule in enumerate(listener.rules):
        # Domains are matched without regard to case; regexes are kept as written.
        domain = folded_domain(rule.domain)
        j = seen.get((domain, rule.url), seen_keys.get(rule.key))
        if j is not None:
            other = listener.rules[j]
            found.append(error(
                "another rule of this listener has the same domain and url: "
                + _other(parts, listener, j, other.positions.at("domain")),
                path=f"{parts.rule_path(listener.name, i)}.domain",
                position=rule.positions.at("domain"),
                hint="merge the two rules, or change the domain or url of one"))
            continue
        seen[(domain, rule.url)] = i
        seen_keys[rule.key] = i
    return found


def _domain_groups(listener: Listener, parts: Parts) -> list[Diagnostic]:
    """A domain belongs to one domain of the listener (CLB's multi-domain rules share their
    domains, settings and certificate): every rule with one of a multi-domain rule's domains
    has the same list, in the same order."""
    found = []
    first_with: dict[str, int] = {}
    for i, rule in enumerate(listener.rules):
        names = tuple(folded_domain(name) for name in rule.names)
        for written_name, name in zip(rule.names, names, strict=True):
            j = first_with.setdefault(name, i)
            other = listener.rules[j]
            if j == i or tuple(folded_domain(n) for n in other.names) == names:
                continue
            written = ", ".join(other.names)
            shape = f"domain: [{written}]" if other.domains else f"domain: {written}"
            where = _other(parts, listener, j, other.positions.at("domain"))
            found.append(error(
                f"domain {quote(written_name)} is also in {where}, which has {shape}: every "
                "rule with one of a multi-domain rule's domains has its same list",
                path=f"{parts.rule_path(listener.name, i)}.domain",
                position=rule.positions.at("domain"),
                hint=f"write {shape} on this rule too (same order), or use a domain of its own"))
            break
    return found


def _ports(parts: Parts) -> list[Diagnostic]:
    found = []
    by_port: dict[tuple[str, int], Listener] = {}
    count: dict[str, int] = {}
    for listener in parts.listeners.values():
        lb = listener.load_balancer
        count[lb] = count.get(lb, 0) + 1
        if count[lb] == LISTENERS_PER_LOAD_BALANCER + 1:
            found.append(warning(
                f"load balancer {lb!r} has more than {LISTENERS_PER_LOAD_BALANCER} listeners, "
                "the default CLB quota", path=f"listeners.{listener.name}",
                position=listener.positions.at(),
                hint="ask Tencent Cloud to raise the quota, or use another load balancer"))
        first = by_port.setdefault((lb, listener.port), listener)
        if first is listener:
            continue
        same = first.protocol == listener.protocol
        found.append(error(
            f"port {listener.port} of load balancer {lb!r} is already used by listener "
            f"{first.name!r} ({line_of(first.positions.at('port'))})",
            path=f"listeners.{listener.name}.port", position=listener.positions.at("port"),
            hint="a CLB has one listener per port" + (
                "; choose another port" if same else
                f" whatever the protocol: {first.protocol} and {listener.protocol} cannot share "
                "a port either")))
    return found
