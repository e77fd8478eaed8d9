"""The plan as a Markdown pull-request comment: a summary, a warning when anything is destroyed
or replaced, a table of changes (destroys first), drift and the full plan folded away.

The comment starts with a stable marker (`<!-- mtlsform-plan: STACK -->`) so a bot can find and
edit its own comment (`mtlsform comment` does), links the JSON artefact of the run when told
where it is (`--artifact-url`), and stays under GitHub's 65,536-character limit.
"""

from __future__ import annotations

from mtlsform.plan.model import Action, Plan, ResourceChange
from mtlsform.plan.render_text import (
    REASON_TEXT,
    moved_line,
    partial_banner,
    refresh_only_line,
    render_drift,
    render_plan,
    summary_line,
)

COMMENT_LIMIT = 65_536
ACTION_WORDS = {
    Action.CREATE: "create",
    Action.UPDATE: "update in place",
    Action.DELETE: "destroy",
    Action.REPLACE_DESTROY_FIRST: "replace (destroy, then create)",
    Action.REPLACE_CREATE_FIRST: "replace (create, then destroy the old one)",
    Action.FORGET: "forget (left in place)",
}
SYMBOLS = {
    Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-",
    Action.REPLACE_DESTROY_FIRST: "-/+", Action.REPLACE_CREATE_FIRST: "+/-", Action.FORGET: ".",
}
# Destructive changes first, so a reviewer sees them before scrolling.
ORDER = {Action.DELETE: 0, Action.REPLACE_DESTROY_FIRST: 1, Action.REPLACE_CREATE_FIRST: 2,
         Action.FORGET: 3, Action.UPDATE: 4, Action.CREATE: 5}


def marker(stack: str) -> str:
    return f"<!-- mtlsform-plan: {stack} -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _why(change: ResourceChange) -> str:
    """The reason in words; for an update without one, the attributes it changes."""
    moved = moved_line(change) if change.moved_from is not None else ""
    return "; ".join(text for text in (moved, _because(change)) if text)


def _because(change: ResourceChange) -> str:
    text = change.detail or REASON_TEXT.get(change.reason)
    if text:
        return text
    if change.changed:
        names = ", ".join(f"`{name}`" for name in change.changed)
        return f"{names} {'changes' if len(change.changed) == 1 else 'change'}"
    return ""


def _as_diff(text: str) -> str:
    """Text-plan lines with their change symbol moved to column 0, as a `diff` block colours."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("-/+", "+/-")):
            lines.append("!" + line)
        elif stripped[:1] in ("+", "-"):
            lines.append(stripped[0] + line.replace(stripped[0], " ", 1))
        elif stripped[:1] == "~":
            lines.append("!" + line.replace("~", " ", 1))
        else:
            lines.append(" " + line)
    return "\n".join(lines)


def _fence(body: str, budget: int) -> str:
    if len(body) > budget:
        kept = body[: max(0, budget - 200)].rsplit("\n", 1)[0]
        dropped = body.count("\n") - kept.count("\n")
        body = f"{kept}\n... ({dropped} more lines: run `mtlsform plan` to see them all)"
    return f"```diff\n{body}\n```"


def artifact_line(url: str) -> str:
    """The link to the run's artefact (the saved plan and its JSON) that a comment carries."""
    return f"The plan as JSON, for policy checks and tools: [plan artefact](<{url}>)"


def render_plan_markdown(plan: Plan, *, source: str = "", artifact_url: str | None = None) -> str:
    """The comment; with `artifact_url`, a link to the plan artefact under the summary."""
    where = f" for `{source}`" if source else f" for stack `{plan.stack}`"
    if plan.workspace != "default":
        where += f", workspace `{plan.workspace}`"
    mark = plan.stack if plan.workspace == "default" else f"{plan.stack}/{plan.workspace}"
    parts = [marker(mark), f"### mtlsform plan{where}", ""]
    if artifact_url:
        parts += [artifact_line(artifact_url), ""]
    actionable = sorted(plan.actionable, key=lambda c: (ORDER[c.action], c.sort_key()))
    if plan.partial:
        parts += ["> [!WARNING]", "> " + _cell(partial_banner(plan).removeprefix("Warning: "))
                  .replace("this plan is partial", "**This plan is partial**", 1), ""]
    if plan.interrupted_operations:
        parts += ["> [!WARNING]", "> A previous run was interrupted during operations on "
                  + ", ".join(f"`{a}`" for a in plan.interrupted_operations)
                  + "; this plan was made from what the cloud holds now.", ""]
    for found in plan.warnings:
        parts += ["> [!WARNING]", f"> `{found.path}`: {_cell(found.message)}", ""]
    if plan.mode == "refresh-only":
        parts += [f"**{refresh_only_line(plan)}**", ""]
    elif not plan.has_changes and plan.mode == "destroy":
        parts += ["**No changes.** Nothing is left to destroy"
                  + ("." if plan.refreshed else " (the cloud was not read: `--refresh=false`)."),
                  ""]
    elif not plan.has_changes and not plan.refreshed:
        parts += ["**No changes.** The state matches the stack (the cloud was not read: "
                  "`--refresh=false`).", ""]
    elif not plan.has_changes:
        parts += ["**No changes.** The cloud matches the stack.", ""]
    else:
        parts += [f"**{summary_line(plan)}**", ""]
        if not plan.refreshed:
            parts += ["> [!NOTE]", "> The cloud was not read (`--refresh=false`): this plan "
                      "compares the stack with the state only, so changes made outside "
                      "mtlsform are not shown.", ""]
    moved = [c for c in plan.changes if c.moved_from is not None and c.deposed is None
             and c.action is Action.NOOP]
    if moved:
        parts += ["Moved to new addresses (nothing changes in the cloud): "
                  + ", ".join(f"`{c.address}` (moved from `{c.moved_from}`)" for c in moved),
                  ""]
    destructive = [c for c in actionable if c.action.deletes]
    if destructive:
        names = ", ".join(f"`{c.address}`" for c in destructive[:10])
        more = f" and {len(destructive) - 10} more" if len(destructive) > 10 else ""
        parts += ["> [!CAUTION]",
                  f"> This plan destroys or replaces {len(destructive)} "
                  f"resource{'s' if len(destructive) > 1 else ''}: {names}{more}.", ""]
    if plan.found:
        parts += ["Found in the cloud by their tags, with no record in the state:", ""]
        parts += [f"- `{_cell(str(f.address))}`: `{_cell(f.ident)}` ("
                  + ("the create of an interrupted run, taken back" if f.how == "interrupted"
                     else "adopted with `--adopt-found`") + ")" for f in plan.found]
        parts.append("")
    if plan.importing and plan.mode != "refresh-only":
        parts += ["Found in the cloud, will be imported (this stack starts managing them):", ""]
        parts += [f"- `{_cell(str(c.address))}` from `{_cell(c.importing or '')}`"
                  for c in plan.importing]
        parts.append("")
    if actionable:
        parts += ["| | Resource | Action | Why |", "|---|---|---|---|"]
        room = COMMENT_LIMIT // 2  # the table may take half the comment, the rest is folded
        for shown, change in enumerate(actionable):
            row = (f"| `{SYMBOLS[change.action]}` | `{_cell(str(change.address))}` | "
                   f"{ACTION_WORDS[change.action]} | {_cell(_why(change))} |")
            room -= len(row) + 1
            if room < 0:
                parts.append(f"| | ... and {len(actionable) - shown} more | | |")
                break
            parts.append(row)
        parts.append("")
    head = "\n".join(parts)
    budget = COMMENT_LIMIT - len(head) - 400
    if plan.drift:
        drift = "\n".join(render_drift(d, color=False) for d in plan.drift)
        block = _fence(_as_diff(drift), budget // 3)
        parts += [f"<details><summary>Changed outside mtlsform ({len(plan.drift)})</summary>",
                  "", block, "", "</details>", ""]
        budget -= len(block)
    if plan.has_changes and plan.mode != "refresh-only":
        full = render_plan(Plan(plan.stack, plan.mode, plan.changes, (), plan.outputs),
                           color=False)
        parts += ["<details><summary>Full plan</summary>", "",
                  _fence(_as_diff(full.rstrip("\n")), budget), "", "</details>", ""]
    return "\n".join(parts)
