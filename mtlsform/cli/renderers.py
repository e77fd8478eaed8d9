"""Renderings of apply results, outputs and the state, for people and as JSON (secrets hidden)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from mtlsform.errors import outcome_unknown
from mtlsform.plan.model import Plan, count_steps
from mtlsform.plan.render_text import flatten, format_value
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.sensitive import REDACTED, Sensitive

if TYPE_CHECKING:
    from mtlsform.apply.executor import ApplyResult
    from mtlsform.apply.operations import Operation
    from mtlsform.state.model import OutputValue, ResourceState, State


def _public(value: Any) -> Any:
    if isinstance(value, Sensitive):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    return value


def _visible(resource: ResourceState) -> dict[str, Any]:
    rtype = RESOURCE_TYPES.get(resource.address.type)
    hidden = rtype.hidden if rtype else frozenset()
    return {k: _public(v) for k, v in sorted(resource.attributes.items()) if k not in hidden}


def _steps_done(result: ApplyResult) -> list[str]:
    """The action steps the apply carried out, counted by the plan's rule (`count_steps`).

    An `apply` operation carries out its change's create or update; a delete operation its
    delete or forget. A replaced local resource has no delete operation: its old copy goes
    when the new one is recorded, so its `apply` operation carries out the delete too.
    """
    deleting = {(op.address, op.deposed) for op in result.changes if op.phase != "apply"}
    steps: list[str] = []
    for op in result.succeeded:
        action = result.changes[op].action
        if op.phase != "apply":
            steps += [s for s in action.value if s in ("delete", "forget")]
            continue
        steps += [s for s in action.value if s in ("create", "update")]
        if action.deletes and (op.address, op.deposed) not in deleting:
            steps.append("delete")
    return steps


SHOWN = 3  # operations a grouped summary line names before it only counts the rest


def _some(ops: list[Operation]) -> str:
    """Operations as a count with the first few by name: `48 operations: a, b, c and 45
    more`."""
    names = ", ".join(str(op) for op in ops[:SHOWN])
    more = f" and {len(ops) - SHOWN} more" if len(ops) > SHOWN else ""
    return f"{len(ops)} operation{'s' if len(ops) > 1 else ''}: {names}{more}"


def render_apply_summary(result: ApplyResult, plan: Plan, *, color: bool,
                         again: str | None = None) -> tuple[str, bool]:
    """The closing lines of an apply: counts, and what failed or was skipped and why; for a run
    interrupted before everything started, that the state is saved and `again`, the command
    that carries it on."""
    tally = count_steps(_steps_done(result))
    added, changed, destroyed = tally["add"], tally["change"], tally["destroy"]
    counts = f"Resources: {added} added, {changed} changed, {destroyed} destroyed."
    if tally["forget"]:
        counts = counts[:-1] + f", {tally['forget']} forgotten."
    if result.ok:
        head = {"destroy": "Destroy complete!", "refresh-only": "Refresh complete! The state "
                "records what changed outside mtlsform."}.get(plan.mode, "Apply complete!")
        text = f"\n{head} {counts}"
        return (f"[bold green]{escape(text)}[/]" if color else text), True
    interrupted = bool(result.not_started)
    head = "interrupted" if interrupted else "failed"
    lines = [f"\n{'Apply' if plan.mode == 'normal' else 'Destroy'} {head}. {counts}"]
    for op in sorted(result.succeeded):
        lines.append(f"  done:    {op}")
    for op, error in sorted(result.failed.items()):
        lines.append(f"  failed:  {op}: {error}")
        if outcome_unknown(error):
            lines.append("           (no answer of the API came back, so it may have been "
                         "done all the same: the next run looks for it in the cloud)")
    after_held: list[Operation] = []
    for op, cause in sorted(result.skipped.items()):
        if cause in result.held:
            after_held.append(op)
        else:
            lines.append(f"  skipped: {op} (it depends on {cause.address}, which failed)")
    by_reason: dict[str, list[Operation]] = {}
    for op, reason in sorted(result.held.items()):
        by_reason.setdefault(reason, []).append(op)
    for reason, ops in by_reason.items():
        lines.append(f"  not started: {reason}")
        lines.append(f"               {_some(ops)}")
    if after_held:
        lines.append(f"  skipped: {_some(after_held)} (depending on operations not started)")
    for op in result.not_started:
        lines.append(f"  not started: {op} (interrupted)")
    if interrupted:
        lines += _interrupted_ending(result, again)
    else:
        lines.append("The state records everything that succeeded; fix the problem and run "
                     "apply again.")
    text = "\n".join(lines)
    return (f"[red]{escape(text)}[/]" if color else text), False


def _count(ops: int) -> str:
    return f"{ops} operation{'' if ops == 1 else 's'}"


def _interrupted_ending(result: ApplyResult, again: str | None) -> list[str]:
    """What an interrupted run says last: what finished, what did not start, how to go on."""
    finished = len(result.succeeded)
    waiting = len(result.not_started) + len(result.skipped) + len(result.held)
    lines = [f"The run was interrupted: {_count(finished)} finished, {_count(waiting)} did "
             "not start. The state is saved and records everything that finished."]
    fix = "fix the failures above, then " if result.failed else ""
    if again:
        lines.append(f"To continue, {fix}run: {again}")
    else:
        lines.append(f"To continue, {fix}run the same command again.")
    return lines


def outputs_json(outputs: Mapping[str, OutputValue]) -> dict[str, Any]:
    """Each output's value (null when sensitive) and whether it is sensitive."""
    return {
        name: {"value": None if out.sensitive else out.value, "sensitive": out.sensitive}
        for name, out in sorted(outputs.items())
    }


def render_outputs(outputs: Mapping[str, OutputValue]) -> str:
    """The Outputs: block after an apply and in `show` (empty when there are none)."""
    if not outputs:
        return ""
    lines = ["\nOutputs:\n"]
    for name, out in sorted(outputs.items()):
        lines.append(f"{name} = {REDACTED if out.sensitive else format_value(out.value)}")
    return "\n".join(lines) + "\n"


def resource_json(resource: ResourceState) -> dict[str, Any]:
    """One resource of the state as JSON, hidden attributes left out, secrets masked."""
    entry: dict[str, Any] = {
        "address": str(resource.address),
        "type": resource.address.type,
        "attributes": _visible(resource),
        "dependencies": [str(d) for d in resource.dependencies],
    }
    if resource.deposed:
        entry["deposed"] = resource.deposed
    return entry


def state_json(state: State) -> str:
    """The state as the JSON document of `show --json`."""
    document = {
        "stack": state.stack,
        "lineage": state.lineage,
        "serial": state.serial,
        "resources": [resource_json(r) for r in state.resources],
        "outputs": outputs_json(state.outputs),
        "pending_operations": [
            {"op_id": p.op_id, "address": str(p.address), "action": p.action,
             "started_at": p.started_at}
            for p in state.pending_operations
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render_resource(resource: ResourceState, *, color: bool) -> str:
    """One resource as `# address` and aligned `key = value` lines."""
    title = f"# {resource.address}" + (f" (deposed {resource.deposed})"
                                       if resource.deposed else "")
    lines = [f"[bold]{escape(title)}[/]" if color else title]
    flat = flatten(_visible(resource))
    width = max((len(k) for k in flat), default=0)
    for key, value in flat.items():
        shown = REDACTED if value == REDACTED else format_value(value)
        lines.append(f"    {escape(key.ljust(width)) if color else key.ljust(width)} = "
                     f"{escape(shown) if color else shown}")
    return "\n".join(lines) + "\n"


def render_state(state: State, *, color: bool) -> str:
    """Every resource, interrupted operations, then the outputs."""
    parts = [render_resource(r, color=color) for r in state.resources]
    if state.pending_operations:
        parts.append("Interrupted operations (the run that started them did not finish):")
        parts.extend(f"  {p.action} {p.address} (started {p.started_at})"
                     for p in state.pending_operations)
    parts.append(render_outputs(state.outputs))
    return "\n".join(parts)
