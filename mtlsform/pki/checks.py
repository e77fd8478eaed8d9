"""Certificate checks reported as stack diagnostics (being written: issue 3)."""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic
from mtlsform.stack.model import Stack


def check_certificates(stack: Stack) -> list[Diagnostic]:
    """Content checks of the stack's certificates (generated specs and imported files)."""
    return []
