"""The human rendering of a plan, in the style people know from Terraform.

Returns rich markup text (colour on a terminal, plain otherwise); sensitive values are shown as
`(sensitive)` and never unwrapped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.markup import escape

from mtlsform.plan.model import Action, Drift, Plan, Reason, ResourceChange
from mtlsform.references import UNKNOWN

SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.DELETE: ("-", "red"),
    Action.REPLACE_DESTROY_FIRST: ("-/+", "red"),
    Action.REPLACE_CREATE_FIRST: ("+/-", "yellow"),
    Action.FORGET: (".", "cyan"),
}

# The sentence shown under a change when it has no detail of its own (none: nothing to say).
REASON_TEXT: dict[Reason, str] = {
    Reason.NO_CONFIG: "it is no longer in the stack",
    Reason.UNMANAGED: "it exists in the cloud but not in the stack",
    Reason.DEPOSED: "it is the old copy left by a replacement",
    Reason.ADOPTED: "it was adopted: mtlsform stops managing it and leaves it in place",
    Reason.BORROWED: "it is another owner's identical upload (the SSL service gave its ID): "
                     "mtlsform stops using it and leaves it in place",
    Reason.DELETED_OUTSIDE: "it was deleted outside mtlsform",
}


def format_value(value: Any) -> str:
    if value is UNKNOWN:
        return "(known after apply)"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def flatten(attrs: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted names (health_check.interval), for one line per value."""
    flat: dict[str, Any] = {}
    for key, value in (attrs or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _differs(a: Any, b: Any) -> bool:
    return a is UNKNOWN or b is UNKNOWN or a != b


def _header(change: ResourceChange) -> str:
    address = str(change.address) + (f" (deposed {change.deposed})" if change.deposed else "")
    verb = {
        Action.CREATE: "will be created",
        Action.UPDATE: "will be updated in place",
        Action.DELETE: "will be destroyed",
        Action.REPLACE_DESTROY_FIRST: "must be replaced (destroyed, then created)",
        Action.REPLACE_CREATE_FIRST: "must be replaced (created, then the old one destroyed)",
        Action.FORGET: "will be forgotten",
    }[change.action]
    return f"# {address} {verb}"


def _reason(change: ResourceChange) -> str | None:
    if change.detail:
        return change.detail
    return REASON_TEXT.get(change.reason)


def moved_line(change: ResourceChange) -> str:
    """`moved from X`, for a change whose resource the state recorded at another address."""
    return f"moved from {change.moved_from}"


def partial_banner(plan: Plan) -> str:
    """What a plan made with --target says first: it is partial."""
    names = ", ".join(str(t) for t in plan.targets)
    return (f"Warning: this plan is partial: it covers only {names} (--target) and what "
            f"{'it depends' if len(plan.targets) == 1 else 'they depend'} on; the rest of the "
            "stack is not shown and is left as it is. Plan without --target "
            "to see everything.")


def _attribute_lines(change: ResourceChange, color: bool) -> list[str]:
    before, after = flatten(change.before), flatten(change.after)
    names = sorted(set(before) | set(after))
    width = max((len(n) for n in names), default=0)
    lines: list[str] = []
    hidden = 0
    forced = set(change.replace_paths)
    for name in names:
        pad = name.ljust(width)
        old, new = before.get(name), after.get(name)
        top = name.split(".", 1)[0]
        if change.action is Action.CREATE:
            if new is not None:  # a new object shows what it will have, not what it lacks
                lines.append(_line("+", f"{pad} = {format_value(new)}", "green", color))
        elif change.action in (Action.DELETE, Action.FORGET):
            if old is not None:
                lines.append(_line("-", f"{pad} = {format_value(old)}", "red", color))
        elif name not in before:
            lines.append(_line("+", f"{pad} = {format_value(new)}", "green", color))
        elif name not in after:
            lines.append(_line("-", f"{pad} = {format_value(old)}", "red", color))
        elif _differs(new, old):
            note = " # forces replacement" if top in forced or name in forced else ""
            text = f"{pad} = {format_value(old)} -> {format_value(new)}{note}"
            lines.append(_line("~", text, "yellow", color))
        else:
            hidden += 1
    for name in sorted(change.sensitive):
        if change.action is Action.CREATE or change.action.is_replace:
            lines.append(_line("+" if change.action is Action.CREATE else "~",
                               f"{name.ljust(width)} = (sensitive)", "green", color))
    if hidden and change.action not in (Action.CREATE, Action.DELETE, Action.FORGET):
        lines.append(_dim(f"# ({hidden} unchanged attribute{'s' if hidden > 1 else ''} hidden)",
                          color))
    return lines


def _line(symbol: str, text: str, style: str, color: bool) -> str:
    body = f"{symbol} {escape(text)}" if color else f"{symbol} {text}"
    return f"      [{style}]{body}[/]" if color else f"      {body}"


def _dim(text: str, color: bool) -> str:
    return f"      [dim]{escape(text)}[/]" if color else f"      {text}"


def render_change(change: ResourceChange, *, color: bool) -> str:
    symbol, style = SYMBOLS[change.action]
    header = _header(change)
    lines = [f"  [bold]{escape(header)}[/]" if color else f"  {header}"]
    if change.moved_from is not None:
        moved = f"# ({moved_line(change)})"
        lines.append(f"  [dim]{escape(moved)}[/]" if color else f"  {moved}")
    reason = _reason(change)
    if reason:
        lines.append(f"  [dim]# ({escape(reason)})[/]" if color else f"  # ({reason})")
    title = f"{symbol:>3} {change.address}"
    lines.append(f"[{style}]{escape(title)}[/]" if color else title)
    lines.extend(_attribute_lines(change, color))
    return "\n".join(lines)


def render_drift(drift: Drift, *, color: bool) -> str:
    if drift.after is None:
        head = f"# {drift.address} has been deleted"
        return f"  [bold]{escape(head)}[/]" if color else f"  {head}"
    before, after = flatten(drift.before), flatten(drift.after)
    lines = [f"  [bold]{escape(f'# {drift.address} has changed')}[/]" if color
             else f"  # {drift.address} has changed"]
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            text = f"{name} = {format_value(before.get(name))} -> {format_value(after.get(name))}"
            lines.append(_line("~", text, "yellow", color))
    return "\n".join(lines)


def summary_line(plan: Plan) -> str:
    counts = plan.counts()
    imports = len(plan.importing)
    text = (f"Plan: {f'{imports} to import, ' if imports else ''}"
            f"{counts['add']} to add, {counts['change']} to change, "
            f"{counts['destroy']} to destroy.")
    if counts["forget"]:
        text = text[:-1] + f", {counts['forget']} to forget."
    return text


NOT_READ = "the cloud was not read: --refresh=false"


def no_changes_line(plan: Plan, source: str = "") -> str:
    """What a plan without changes compared: the cloud, or (--refresh=false) only the state;
    for a destroy, that nothing is left to destroy."""
    if plan.mode == "destroy":
        where = f" of {source}" if source else ""
        if not plan.refreshed:
            return f"No changes. The state records nothing{where} to destroy ({NOT_READ})."
        return f"No changes. Nothing{where} is left to destroy."
    if not plan.refreshed:
        where = f" {source}" if source else " the configuration"
        return f"No changes. The state matches{where} ({NOT_READ})."
    return f"No changes. The cloud matches {source}." if source else "No changes."


def refresh_only_line(plan: Plan, source: str = "") -> str:
    """The end of a refresh-only plan: whether there is anything to record."""
    if not plan.drift:
        where = f" of {source}" if source else ""
        return f"No changes. The cloud matches the state{where}: there is nothing to record."
    count = len(plan.drift)
    return (f"This is a refresh-only plan: `mtlsform apply --refresh-only` records the "
            f"{count} change{'s' if count > 1 else ''} above in the state and changes nothing "
            "in the cloud.")


def render_plan(plan: Plan, *, color: bool, source: str = "") -> str:
    parts: list[str] = []
    if plan.workspace != "default":
        line = f"Workspace: {plan.workspace} (its own state and objects)\n"
        parts.append(f"[bold]{escape(line)}[/]" if color else line)
    if plan.partial:
        banner = partial_banner(plan)
        parts.append(f"[yellow]{escape(banner)}[/]\n" if color else banner + "\n")
    if plan.interrupted_operations:
        names = ", ".join(plan.interrupted_operations)
        warn = (f"Warning: a previous run was interrupted during operations on {names}; "
                "this plan was made from what the cloud holds now.")
        parts.append(f"[yellow]{escape(warn)}[/]" if color else warn)
    for found in plan.warnings:
        warn = f"Warning: {found.path}: {found.message}"
        parts.append(f"[yellow]{escape(warn)}[/]" if color else warn)
    taken_back = [f for f in plan.found if f.how == "interrupted"]
    if taken_back:  # crash recovery: said, so an object found by tags is never silent
        lines = "".join(f"  # {f.describe()}\n" for f in taken_back)
        parts.append("Objects found in the cloud by their tags:\n\n"
                     + (escape(lines) if color else lines))
    adopted = [c for c in plan.changes if c.reason is Reason.FOUND]
    if adopted:  # taken over from the cloud: said even when nothing else changes about them
        parts.append("Objects found in the cloud that the state does not record:\n")
        for c in adopted:
            line = f"  # {c.address} will be adopted: {c.detail}\n"
            parts.append(escape(line) if color else line)
    moved = [c for c in plan.changes if c.moved_from is not None and c.deposed is None
             and c.action is Action.NOOP]
    if moved:  # moved with nothing else to do: said, since apply records the new address
        lines = "".join(f"  # {c.address} {moved_line(c)}\n" for c in moved)
        parts.append("Resources moved to new addresses (nothing changes in the cloud):\n\n"
                     + (escape(lines) if color else lines))
    importing = plan.importing
    if importing:  # said even when nothing else changes about them
        parts.append("Objects found in the cloud that this stack will start managing:\n")
        for c in importing:
            line = f"  # {c.address} will be imported from {c.importing}\n"
            parts.append(escape(line) if color else line)
    if plan.drift:
        parts.append("Objects have changed outside of mtlsform:\n")
        parts.extend(render_drift(d, color=color) + "\n" for d in plan.drift)
    if plan.mode == "refresh-only":
        parts.append(refresh_only_line(plan, source))
        return "\n".join(parts) + "\n"
    actionable = plan.actionable
    outputs = [o for o in plan.outputs if o.after_unknown or o.before != o.after]
    if not actionable and not outputs and importing:
        parts.append(f"[bold]{summary_line(plan)}[/]" if color else summary_line(plan))
        return "\n".join(parts) + "\n"
    if not actionable and not outputs:
        parts.append(no_changes_line(plan, source))
        return "\n".join(parts) + "\n"
    if not plan.refreshed:
        note = ("Note: the cloud was not read (--refresh=false): this plan compares the stack "
                "with the state only, so changes made outside mtlsform are not shown.\n")
        parts.append(f"[dim]{escape(note)}[/]" if color else note)
    if actionable:
        parts.append("mtlsform will perform the following actions:\n")
        parts.extend(render_change(c, color=color) + "\n" for c in actionable)
    parts.append(f"[bold]{summary_line(plan)}[/]" if color else summary_line(plan))
    if outputs:
        parts.append("\nChanges to outputs:")
        for out in outputs:
            new = "(known after apply)" if out.after_unknown else format_value(out.after)
            if out.before is None:
                parts.append(_line("+", f"{out.name} = {new}", "green", color)[4:])
            elif out.after is None and not out.after_unknown:
                parts.append(_line("-", f"{out.name} = {format_value(out.before)}", "red",
                                   color)[4:])
            else:
                text = f"{out.name} = {format_value(out.before)} -> {new}"
                parts.append(_line("~", text, "yellow", color)[4:])
    return "\n".join(parts) + "\n"
