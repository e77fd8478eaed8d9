"""Redirect checks: `redirect:` on a rule names another listener of the same load balancer, a
rule of it that exists and does not redirect itself, and the rule forwards to no backends."""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import exists, unknown
from mtlsform.stack.model import Listener, Redirect, Rule, redirect_target


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for listener in parts.listeners.values():
        for i, rule in enumerate(listener.rules):
            if rule.redirect is not None:
                path = f"{parts.rule_path(listener.name, i)}"
                found += _redirect(parts, listener, rule, rule.redirect, path)
    return found


def _redirect(parts: Parts, listener: Listener, rule: Rule, redirect: Redirect,
              path: str) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    where = f"{path}.redirect"
    if rule.backends:
        found.append(error("a rule that redirects forwards nothing: its backends would never "
                           "be used", path=f"{path}.backends",
                           position=rule.positions.at("backends"),
                           hint="remove backends, or remove redirect"))
    name = redirect.listener
    at = redirect.positions.at("listener")
    if name == listener.name:
        found.append(error("a rule cannot redirect to its own listener", path=f"{where}.listener",
                           position=at, hint="name the HTTPS listener to redirect to"))
        return found
    if not exists(parts, "listeners", name):
        found.append(unknown(parts, "listeners", name, path=f"{where}.listener", position=at))
        return found
    target = parts.listeners.get(name)
    if target is None:
        return found  # it has problems of its own, reported there
    if target.load_balancer != listener.load_balancer:
        found.append(error(
            f"listener {name!r} is on load balancer {target.load_balancer!r}, not on "
            f"{listener.load_balancer!r}: a redirect stays on one load balancer",
            path=f"{where}.listener", position=at,
            hint="redirect to a listener of the same load balancer"))
        return found
    url = redirect.url or rule.url
    goal = redirect_target(rule, target, url)
    if goal is None:
        found.append(error(
            f"listener {name!r} has no rule for {rule.domain}{url} to redirect to",
            path=f"{where}.url" if redirect.url else f"{where}.listener",
            position=redirect.positions.at("url" if redirect.url else "listener"),
            hint=f"add a rule with domain: {rule.domain} and url: {url} to listeners.{name}, "
                 "or set redirect.url to one of its URLs"))
    elif goal.redirect is not None:
        found.append(error(
            f"the rule {rule.domain}{url} of listener {name!r} redirects itself, so it cannot "
            "be the target of a redirect", path=f"{where}.listener", position=at,
            hint="redirect to a rule that serves the requests"))
    return found
