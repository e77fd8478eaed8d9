"""Semantic checks: what the schema cannot say (references, uniqueness, rules between fields).

Each check reads the items that could be built (`Parts`) and returns diagnostics; none raises.
"""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic
from mtlsform.stack.build import Parts
from mtlsform.stack.checks import (
    certificates,
    listeners,
    outputs,
    preflight,
    redirects,
    resources,
    rules,
)


def run_checks(parts: Parts) -> list[Diagnostic]:
    """Every semantic problem of the stack (errors and warnings), in no particular order."""
    found: list[Diagnostic] = []
    for module in (resources, certificates, listeners, rules, preflight, redirects,
                   outputs):
        found.extend(module.check(parts))
    return found
