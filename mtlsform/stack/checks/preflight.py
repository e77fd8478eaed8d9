"""Pre-flight checks of listener and domain attributes: what CLB would refuse at apply time
(or what would surprise at run time), reported at the place in the file.

- `default_domain` names a domain of the listener's rules;
- an SNI listener that declares `clients_without_sni` names its `default_domain` (the one
  whose certificate such clients get), and only SNI listeners declare it;
- one client CA per listener or domain (`client_ca` is one name, not a list);
- `tls.verify_client: optional` only in mutual mode;
- `http2` and `quic` only on HTTPS listeners, the same on every rule of a domain, and gRPC
  backends (`GRPC`, `GRPCS`) only on domains with `http2: true` (gRPC is HTTP/2);
- a health check's `grpc_codes` only with a gRPC check (`type: GRPC`, or a gRPC backend), its
  ranges low to high, and `type: HTTPS` only on HTTPS listeners;
- a regular-expression domain (`~...`) compiles (CLB matches it as nginx does, with PCRE:
  Python's syntax is close enough to catch the mistakes that matter, such as an unclosed
  group or a dangling quantifier).
"""

from __future__ import annotations

import re

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import line_of
from mtlsform.stack.model import Listener, Rule, Tls, default_check_type
from mtlsform.stack.suggest import did_you_mean
from mtlsform.stack.values import quote


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for listener in parts.listeners.values():
        found += _default_domain(listener)
        found += _verify_client(listener, parts)
        found += _protocols(listener, parts)
        found += _regex_domains(listener, parts)
        found += _health_checks(listener, parts)
    return found


def _health_checks(listener: Listener, parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for i, rule in enumerate(listener.rules):
        check = rule.health_check
        path = f"{parts.rule_path(listener.name, i)}.health_check"
        kind = check.check_type or default_check_type(rule.backend_protocol)
        if check.grpc_codes is not None and kind != "GRPC":
            found.append(error(
                f"grpc_codes only applies to gRPC health checks; this check is {kind}",
                path=f"{path}.grpc_codes", position=check.positions.at("grpc_codes"),
                hint="add type: GRPC to the health check, or remove grpc_codes"))
        for part in (check.grpc_codes or "").split(","):
            low, _, high = part.partition("-")
            if low.isdigit() and high.isdigit() and int(low) > int(high):
                found.append(error(
                    f"grpc_codes range {part} goes from high to low",
                    path=f"{path}.grpc_codes", position=check.positions.at("grpc_codes"),
                    hint=f"write it {high}-{low}"))
        if check.check_type == "HTTPS" and listener.protocol != "HTTPS":
            found.append(error(
                f"type: HTTPS health checks are for rules of HTTPS listeners; CLB checks the "
                f"backends of an {listener.protocol} listener with HTTP or GRPC",
                path=f"{path}.type", position=check.positions.at("type"),
                hint="use type: HTTP or GRPC, or remove type"))
    return found


def _regex_domains(listener: Listener, parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for i, rule in enumerate(listener.rules):
        for index, domain in enumerate(rule.names):
            if not domain.startswith("~") or not domain[1:].strip():
                continue  # an empty regex is the rule checks' to report
            pattern = domain[2:] if domain.startswith("~*") else domain[1:]
            where = f"domain.{index}" if rule.domains else "domain"
            try:
                re.compile(pattern)
            except re.error as exc:
                found.append(error(
                    f"{quote(domain)} is not a valid regular expression: {exc.msg} at "
                    f"character {(exc.pos or 0) + 1 + len(domain) - len(pattern)}",
                    path=f"{parts.rule_path(listener.name, i)}.{where}",
                    position=rule.positions.at(where),
                    hint="a regex domain is '~' and a PCRE pattern, "
                         "e.g. ~^(www|api)\\.example\\.com$"))
    return found


def _domains(listener: Listener) -> list[str]:
    return list(dict.fromkeys(name for rule in listener.rules for name in rule.names))


def _default_domain(listener: Listener) -> list[Diagnostic]:
    where = f"listeners.{listener.name}"
    domains = _domains(listener)
    found: list[Diagnostic] = []
    default = listener.default_domain
    if default is not None and default.lower() not in {d.lower() for d in domains}:
        hint = did_you_mean(default, domains)
        found.append(error(
            f"default_domain {quote(default)} is not the domain of any rule of this listener",
            path=f"{where}.default_domain", position=listener.positions.at("default_domain"),
            hint=hint or ("one of " + ", ".join(domains) if domains
                          else "add a rule for it")))
    if listener.clients_without_sni and not listener.sni:
        found.append(error(
            "clients_without_sni is only for listeners with sni: true (without SNI every "
            "client gets the listener's one certificate)",
            path=f"{where}.clients_without_sni",
            position=listener.positions.at("clients_without_sni"),
            hint="remove clients_without_sni"))
    elif listener.clients_without_sni and default is None:
        choices = ", ".join(domains) or "a domain of its rules"
        found.append(error(
            "an SNI listener that clients may reach without SNI needs a default_domain: the "
            "domain whose certificate they get",
            path=f"{where}.clients_without_sni",
            position=listener.positions.at("clients_without_sni"),
            hint=f"add default_domain: one of {choices}"))
    return found


def _verify_client(listener: Listener, parts: Parts) -> list[Diagnostic]:
    blocks: list[tuple[str, Tls | None]] = [(f"listeners.{listener.name}.tls", listener.tls)]
    blocks += [(f"{parts.rule_path(listener.name, i)}.tls", rule.tls)
               for i, rule in enumerate(listener.rules)]
    found: list[Diagnostic] = []
    for path, tls in blocks:
        if tls is not None and tls.extra_client_cas:
            count = 1 + len(tls.extra_client_cas)
            found.append(error(
                f"a listener or domain trusts one client CA (CLB binds one CertCaId), but "
                f"{count} are given", path=f"{path}.client_ca",
                position=tls.positions.at("client_ca"),
                hint="keep one; to trust the clients of an old and a new CA during a change, "
                     "give the CA rollover: (one upload holding both roots)"))
        if tls is not None and tls.verify_client == "optional" and tls.mode != "mutual":
            found.append(error(
                "verify_client: optional only applies to mutual TLS (one-way TLS asks no "
                "client for a certificate)",
                path=f"{path}.verify_client", position=tls.positions.at("verify_client"),
                hint="add client_ca (mutual TLS), or remove verify_client"))
    return found


def _protocols(listener: Listener, parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    first: dict[str, tuple[int, Rule]] = {}
    for i, rule in enumerate(listener.rules):
        path = parts.rule_path(listener.name, i)
        for flag in ("http2", "quic"):
            if getattr(rule, flag) and listener.protocol != "HTTPS":
                found.append(error(
                    f"{flag} is only for domains of HTTPS listeners", path=f"{path}.{flag}",
                    position=rule.positions.at(flag),
                    hint=f"remove {flag}, or use protocol: HTTPS on the listener"))
        if rule.backend_protocol in ("GRPC", "GRPCS") and not rule.http2 \
                and listener.protocol == "HTTPS":
            found.append(error(
                f"backend_protocol {rule.backend_protocol} needs http2: true on the domain "
                "(gRPC clients speak HTTP/2, and CLB forwards gRPC only for HTTP/2 domains)",
                path=f"{path}.backend_protocol", position=rule.positions.at("backend_protocol"),
                hint="add http2: true to this rule (and every rule of its domain)"))
        domain = rule.domain.lower()
        if domain not in first:
            first[domain] = (i, rule)
            continue
        j, other = first[domain]
        for flag in ("http2", "quic"):
            if getattr(rule, flag) != getattr(other, flag):
                line = line_of(other.positions.at())
                found.append(error(
                    f"every rule of domain {quote(rule.domain)} must have the same {flag} (a "
                    f"domain setting), but this one differs from "
                    f"rules[{parts.rule_index(listener.name, j)}] ({line})",
                    path=f"{path}.{flag}" if flag in rule.positions.fields else path,
                    position=rule.positions.at(flag),
                    hint=f"set {flag}: {str(getattr(other, flag)).lower()} here, or change "
                         "every rule of the domain"))
    return found
