"""Saved plans: `plan --out FILE` writes the plan as data, `apply FILE` carries it out unchanged.

The file records the stack it was made from (path and a digest of its text and variables) and
the state it was made against (lineage and serial), so applying it after either changed is
refused: what is applied is exactly what was reviewed. It never holds a secret: the plan's
values leave sensitive attributes out, and configurations hold no keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlsform import __version__
from mtlsform.addresses import Address
from mtlsform.errors import InputError, PlanError
from mtlsform.files import write_atomic
from mtlsform.plan.model import Action, Drift, OutputChange, Plan, Reason, ResourceChange
from mtlsform.references import UNKNOWN, Ref
from mtlsform.resources import parse_address
from mtlsform.stack.model import Stack
from mtlsform.state.model import State

PLAN_FILE_FORMAT = 2  # 2: reasons for every change, changed attributes, unmanaged objects
KIND = "mtlsform-plan"
_UNKNOWN_TAG = "__mtlsform_unknown__"
_REF_TAG = "__mtlsform_ref__"


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    stack_path: Path
    stack_digest: str
    variables: Mapping[str, str]


def stack_digest(stack: Stack) -> str:
    """What identifies the stack a plan was made from: its text and its variables' values."""
    digest = hashlib.sha256(Path(stack.path).read_bytes())
    digest.update(json.dumps(dict(stack.variables), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _encode(value: Any) -> Any:
    if value is UNKNOWN:
        return {_UNKNOWN_TAG: True}
    if isinstance(value, Ref):
        return {_REF_TAG: {"address": str(value.address), "attribute": value.attribute}}
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_UNKNOWN_TAG}:
            return UNKNOWN
        if set(value) == {_REF_TAG}:
            ref = value[_REF_TAG]
            return Ref(Address.parse(ref["address"]), ref["attribute"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _change_json(change: ResourceChange) -> dict[str, Any]:
    return {
        "address": str(change.address),
        "actions": change.action.json,
        "reason": change.reason.code,
        "detail": change.detail,
        "before": _encode(change.before),
        "after": _encode(change.after),
        "config": _encode(change.config),
        "changed": list(change.changed),
        "replace_paths": list(change.replace_paths),
        "sensitive": sorted(change.sensitive),
        "dependencies": [str(d) for d in change.dependencies],
        "deposed": change.deposed,
        "unmanaged": _encode(change.unmanaged),
    }


def _change_from(data: Mapping[str, Any]) -> ResourceChange:
    return ResourceChange(
        address=parse_address(data["address"]),
        action=Action.from_json(data["actions"]),
        reason=Reason.from_code(data["reason"]),
        detail=data.get("detail"),
        before=_decode(data.get("before")),
        after=_decode(data.get("after")),
        config=_decode(data.get("config")),
        changed=tuple(data["changed"]),
        replace_paths=tuple(data.get("replace_paths", ())),
        sensitive=frozenset(data.get("sensitive", ())),
        dependencies=tuple(Address.parse(d) for d in data.get("dependencies", ())),
        deposed=data.get("deposed"),
        unmanaged=_decode(data.get("unmanaged")),
    )


def encode_plan(plan: Plan, stack: Stack) -> str:
    document = {
        "kind": KIND,
        "format_version": PLAN_FILE_FORMAT,
        "mtlsform_version": __version__,
        "stack": {"name": stack.name, "path": str(stack.path), "digest": stack_digest(stack),
                  "variables": {k: str(v) for k, v in sorted(stack.variables.items())}},
        "mode": plan.mode,
        "prior_state": {"lineage": plan.prior_lineage, "serial": plan.prior_serial},
        "refreshed": plan.refreshed,
        "changes": [_change_json(c) for c in plan.changes],
        "drift": [{"address": str(d.address), "before": _encode(d.before),
                   "after": _encode(d.after)} for d in plan.drift],
        "outputs": [{"name": o.name, "before": _encode(o.before), "after": _encode(o.after),
                     "after_unknown": o.after_unknown} for o in plan.outputs],
        "interrupted_operations": list(plan.interrupted_operations),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_plan(path: Path, plan: Plan, stack: Stack) -> None:
    """Writes the plan file (0600: it shows the stack's whole configuration)."""
    try:
        write_atomic(path, encode_plan(plan, stack).encode("utf-8"), 0o600)
    except OSError as exc:
        raise InputError(f"cannot write the plan file {path}: {exc.strerror or exc}",
                         hint="--out names a file in a directory that exists") from None


def is_plan_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(200)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and KIND.encode() in head


def read_plan(path: Path) -> SavedPlan:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the plan file {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise InputError(f"{path} is not an mtlsform plan file")
    version = document.get("format_version")
    if version != PLAN_FILE_FORMAT:
        raise InputError(
            f"{path} is a plan file of format {version}; this mtlsform {__version__} reads "
            f"format {PLAN_FILE_FORMAT}", hint="make the plan again with this mtlsform")
    try:
        prior = document["prior_state"]
        plan = Plan(
            stack=document["stack"]["name"],
            mode=document["mode"],
            changes=tuple(_change_from(c) for c in document["changes"]),
            drift=tuple(Drift(Address.parse(d["address"]), _decode(d["before"]),
                              _decode(d["after"])) for d in document["drift"]),
            outputs=tuple(OutputChange(o["name"], _decode(o["before"]), _decode(o["after"]),
                                       o["after_unknown"]) for o in document["outputs"]),
            prior_lineage=prior["lineage"],
            prior_serial=prior["serial"],
            refreshed=document["refreshed"],
            interrupted_operations=tuple(document.get("interrupted_operations", ())),
        )
        recorded = document["stack"]
        return SavedPlan(plan, Path(recorded["path"]), recorded["digest"],
                         dict(recorded.get("variables", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path} is not a valid plan file ({exc})") from None


def check_still_valid(saved: SavedPlan, stack: Stack, state: State) -> None:
    """Refuses a plan made from another stack text or against another state."""
    if stack_digest(stack) != saved.stack_digest:
        raise PlanError(f"{saved.stack_path} (or its variables) changed since the plan was made",
                        hint="make the plan again and review it")
    made_at = saved.plan.prior_serial or 0
    if state.serial == 0:  # no state file yet: only a plan made without one fits
        stale = made_at != 0
    else:
        stale = (saved.plan.prior_lineage, made_at) != (state.lineage, state.serial)
    if stale:
        raise PlanError(
            f"the state changed since the plan was made (the plan was made at serial "
            f"{made_at}, the state is now at serial {state.serial})",
            hint="a stale plan is never applied: make the plan again and review it")
