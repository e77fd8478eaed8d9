"""Live progress of an apply on stderr, one line per event, as operations start and finish."""

from __future__ import annotations

from rich.markup import escape

from mtlsform.apply.operations import Operation
from mtlsform.cli import console
from mtlsform.plan.model import Action, ResourceChange

VERBS = {
    # (phase, action) -> (doing, done)
    "create": ("Creating...", "Creation complete"),
    "update": ("Modifying...", "Modifications complete"),
    "delete": ("Destroying...", "Destruction complete"),
    "forget": ("Forgetting...", "Forgotten"),
}


def _kind(op: Operation, change: ResourceChange) -> str:
    if op.phase != "apply":
        return "forget" if change.action is Action.FORGET else "delete"
    return "update" if change.action is Action.UPDATE else "create"


class ProgressPrinter:
    """Implements mtlsform.apply.executor.ApplyHooks for a terminal or a CI log."""

    def __init__(self) -> None:
        self.err = console.err()
        self.color = console.color_enabled()

    def _print(self, text: str, style: str = "") -> None:
        if self.color and style:
            self.err.print(f"[{style}]{escape(text)}[/]", highlight=False)
        else:
            self.err.print(text, markup=False, highlight=False)

    def started(self, operation: Operation, change: ResourceChange) -> None:
        self._print(f"{operation}: {VERBS[_kind(operation, change)][0]}")

    def finished(self, operation: Operation, change: ResourceChange, seconds: float) -> None:
        done = VERBS[_kind(operation, change)][1]
        self._print(f"{operation}: {done} after {seconds:.1f}s", "green")

    def failed(self, operation: Operation, change: ResourceChange,
               error: BaseException) -> None:
        self._print(f"{operation}: failed: {error}", "red")
