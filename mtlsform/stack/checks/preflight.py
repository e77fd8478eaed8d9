"""Pre-flight checks of listener and domain attributes: what CLB would refuse at apply time
(or what would surprise at run time), reported at the place in the file.

- `default_domain` names a domain of the listener's rules;
- an SNI listener that declares `clients_without_sni` names its `default_domain` (the one
  whose certificate such clients get), and only SNI listeners declare it;
- `tls.verify_client: optional` only in mutual mode.
"""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.model import Listener, Tls
from mtlsform.stack.suggest import did_you_mean
from mtlsform.stack.values import quote


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for listener in parts.listeners.values():
        found += _default_domain(listener)
        found += _verify_client(listener, parts)
    return found


def _domains(listener: Listener) -> list[str]:
    return list(dict.fromkeys(rule.domain for rule in listener.rules))


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
        if tls is not None and tls.verify_client == "optional" and tls.mode != "mutual":
            found.append(error(
                "verify_client: optional only applies to mutual TLS (one-way TLS asks no "
                "client for a certificate)",
                path=f"{path}.verify_client", position=tls.positions.at("verify_client"),
                hint="add client_ca (mutual TLS), or remove verify_client"))
    return found
