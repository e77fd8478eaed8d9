"""Saved plans: `plan --out FILE` writes the plan as data, `apply FILE` carries it out unchanged.

The file records the stack it was made from (path and a digest of its text and variables) and
the state it was made against (lineage and serial), so applying it after either changed is
refused: what is applied is exactly what was reviewed. It never holds a secret: the plan's
values leave sensitive attributes out, and configurations hold no keys.

Format 3 files are signed: the last member, `"signature": "hmac-sha256:<hex>"`, is an
HMAC-SHA256 of the file's exact bytes before it (`,` excluded), keyed by the random 32-byte
`plan_key` of the state the plan was made against (kept in the state as a secret, so sealed
when the state is encrypted). Changing a single byte, removing the signature or applying the
file against a state of another lineage is refused before anything else is looked at. Format 2
files (unsigned) can still be shown, never applied.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlsform import __version__
from mtlsform.addresses import Address
from mtlsform.errors import InputError, MtlsformError, PlanError
from mtlsform.files import write_atomic
from mtlsform.plan.model import (
    Action,
    Drift,
    FoundNote,
    OutputChange,
    Plan,
    Reason,
    ResourceChange,
)
from mtlsform.references import UNKNOWN, Ref
from mtlsform.resources import parse_address
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack
from mtlsform.state.gitops import lineage_conflict, serial_conflict
from mtlsform.state.local import backup_path
from mtlsform.state.model import State

# 3: signed with the state's plan key; 2: reasons for every change, changed attributes,
# unmanaged objects
PLAN_FILE_FORMAT = 3
READABLE_FORMATS = (2, 3)  # format 2 is shown, never applied: it has no signature
KIND = "mtlsform-plan"
_UNKNOWN_TAG = "__mtlsform_unknown__"
_REF_TAG = "__mtlsform_ref__"
_SIGNATURE_SCHEME = "hmac-sha256"
# The signature closes the file: everything before the comma is what it covers.
_SIGNATURE_TAIL = re.compile(rb',\n  "signature": "hmac-sha256:([0-9a-f]{64})"\n\}\n\Z')
_REPLAN = "make the plan again with `mtlsform plan STACK --out FILE`, and review it"


def new_plan_key() -> Sensitive[str]:
    """A fresh plan-signing key for a state: 32 random bytes, as 64 hex digits."""
    return Sensitive(secrets.token_hex(32))


def _sign(key: bytes, signed: bytes) -> str:
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SavedPlan:
    """A plan file's content, decoded."""

    plan: Plan
    stack_path: Path
    stack_digest: str
    variables: Mapping[str, str]
    workspace: str = "default"


@dataclass(frozen=True)
class PlanFile:
    """A plan file as read, before its content is trusted: what is needed to find its stack
    and state and to check its signature, and the document to decode once it is checked."""

    path: Path
    format_version: int
    stack_path: Path
    variables: Mapping[str, str]
    lineage: str | None
    signature: str | None  # the hex HMAC, None when the file has none
    signed: bytes  # the exact bytes the signature covers
    document: Mapping[str, Any]
    workspace: str = "default"  # the workspace it was planned for

    def decode(self) -> SavedPlan:
        """The plan the file holds (refused with one message when its shape is wrong)."""
        document, path = self.document, self.path
        try:
            prior = document["prior_state"]
            plan = Plan(
                stack=document["stack"]["name"],
                mode=document["mode"],
                changes=tuple(_change_from(c) for c in document["changes"]),
                drift=tuple(Drift(Address.parse(d["address"]), _decode(d["before"]),
                                  _decode(d["after"])) for d in document["drift"]),
                outputs=tuple(OutputChange(o["name"], _decode(o["before"]),
                                           _decode(o["after"]), o["after_unknown"])
                              for o in document["outputs"]),
                prior_lineage=prior["lineage"],
                prior_serial=prior["serial"],
                refreshed=document["refreshed"],
                interrupted_operations=tuple(document.get("interrupted_operations", ())),
                targets=tuple(parse_address(t) for t in document.get("targets", ())),
                workspace=self.workspace,
                found=tuple(FoundNote(parse_address(f["address"]), f["id"], f["how"])
                            for f in document.get("found_by_tags", ())),
            )
            return SavedPlan(plan, self.stack_path, document["stack"]["digest"],
                             dict(self.variables), self.workspace)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path} is not a valid plan file ({exc})") from None


def stack_digest(stack: Stack) -> str:
    """What identifies the stack a plan was made from: its text and its variables' values."""
    digest = hashlib.sha256(Path(stack.path).read_bytes())
    digest.update(json.dumps(dict(stack.variables), sort_keys=True, default=str).encode())
    if stack.workspace != "default":  # the default's digest is the one it always was
        digest.update(f"workspace={stack.workspace}".encode())
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
        "moved_from": str(change.moved_from) if change.moved_from is not None else None,
        "importing": change.importing,
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
        moved_from=parse_address(data["moved_from"]) if data.get("moved_from") else None,
        importing=data.get("importing"),
    )


def encode_plan(plan: Plan, stack: Stack, key: Sensitive[str]) -> str:
    """The plan file's text, signed with `key` (the state's plan key)."""
    document = {
        "kind": KIND,
        "format_version": PLAN_FILE_FORMAT,
        "mtlsform_version": __version__,
        "stack": {"name": stack.name, "path": str(stack.path), "digest": stack_digest(stack),
                  "variables": {k: str(v) for k, v in sorted(stack.variables.items())},
                  **({"workspace": stack.workspace} if stack.workspace != "default" else {})},
        "mode": plan.mode,
        "prior_state": {"lineage": plan.prior_lineage, "serial": plan.prior_serial},
        "refreshed": plan.refreshed,
        "changes": [_change_json(c) for c in plan.changes],
        "drift": [{"address": str(d.address), "before": _encode(d.before),
                   "after": _encode(d.after)} for d in plan.drift],
        "outputs": [{"name": o.name, "before": _encode(o.before), "after": _encode(o.after),
                     "after_unknown": o.after_unknown} for o in plan.outputs],
        "interrupted_operations": list(plan.interrupted_operations),
        "targets": [str(t) for t in plan.targets],
        **({"found_by_tags": [{"address": str(f.address), "id": f.ident, "how": f.how}
                              for f in plan.found]} if plan.found else {}),
    }
    body = json.dumps(document, indent=2, ensure_ascii=False).removesuffix("\n}")
    signature = _sign(bytes.fromhex(key.reveal()), body.encode("utf-8"))
    return f'{body},\n  "signature": "{_SIGNATURE_SCHEME}:{signature}"\n}}\n'


def write_plan(path: Path, plan: Plan, stack: Stack, key: Sensitive[str]) -> None:
    """Writes the plan file signed with `key` (0600: it shows the stack's configuration)."""
    try:
        write_atomic(path, encode_plan(plan, stack, key).encode("utf-8"), 0o600)
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


def read_plan_file(path: Path) -> PlanFile:
    """Reads a plan file of a readable format, without trusting (or decoding) its changes."""
    try:
        data = Path(path).read_bytes()
        document = json.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the plan file {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise InputError(f"{path} is not an mtlsform plan file")
    version = document.get("format_version")
    if version not in READABLE_FORMATS or isinstance(version, bool):
        raise InputError(
            f"{path} is a plan file of format {version}; this mtlsform {__version__} reads "
            f"format {PLAN_FILE_FORMAT}", hint="make the plan again with this mtlsform")
    tail = _SIGNATURE_TAIL.search(data)
    if tail is not None:
        signature: str | None = tail.group(1).decode("ascii")
    else:  # a signature member that is not the file's exact last line matches nothing
        signature = None if "signature" not in document else ""
    try:
        stack, prior = document["stack"], document["prior_state"]
        lineage = prior["lineage"]
        if not isinstance(stack["path"], str) or not isinstance(lineage, str | None):
            raise TypeError("the stack path and the state lineage must be strings")
        variables = {str(k): str(v) for k, v in dict(stack.get("variables", {})).items()}
        workspace = stack.get("workspace", "default")
        if not isinstance(workspace, str):
            raise TypeError("the workspace must be a string")
        return PlanFile(Path(path), version, Path(stack["path"]), variables, lineage,
                        signature, data[:tail.start()] if tail else data, document,
                        workspace)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path} is not a valid plan file ({exc})") from None


def read_plan(path: Path) -> SavedPlan:
    """The plan a file holds, to show it (its signature is checked only to apply it)."""
    return read_plan_file(path).decode()


def require_signed(saved: PlanFile) -> None:
    """Refuses, before any state is opened, a plan file that carries no signature."""
    if saved.format_version < PLAN_FILE_FORMAT:
        raise PlanError(
            f"{saved.path} is a plan file of format {saved.format_version}, written before "
            f"plan files were signed; mtlsform {__version__} applies only signed plan files "
            f"(format {PLAN_FILE_FORMAT})", hint=_REPLAN)
    if saved.signature is None:
        raise PlanError(f"{saved.path}: the plan file has no signature, so nothing shows it "
                        "is the plan that was made and reviewed", hint=_REPLAN)


def check_signature(saved: PlanFile, state: State, state_path: Path, *,
                    in_repo: bool = False) -> None:
    """Refuses a plan file whose signature does not match the state's plan key: a file
    changed after it was written, or one made against another state."""
    require_signed(saved)
    key = _plan_key_bytes(state, state_path)
    if key is not None and hmac.compare_digest(_sign(key, saved.signed),
                                               saved.signature or ""):
        return
    if saved.lineage != state.lineage:
        there = (f"the state {state_path} (lineage {state.lineage})" if state.serial
                 else f"{state_path}, where there is no state")
        raise PlanError(f"{saved.path}: the plan file was made against another state (lineage "
                        f"{saved.lineage}), not against {there}",
                        hint=lineage_conflict(saved.lineage, state.lineage) if in_repo
                        and state.serial else "apply it with the state it was made against "
                        "(--state), or " + _REPLAN)
    if key is None:
        raise PlanError(f"{saved.path}: the state {state_path} holds no plan-signing key, so "
                        "this plan file cannot have been made against it (was the state "
                        "replaced by an older copy?)", hint=_REPLAN)
    raise PlanError(f"{saved.path}: the plan file was changed after it was written (its "
                    f"signature does not match the state {state_path})",
                    hint="a plan file is applied only as it was written: " + _REPLAN)


def _plan_key_bytes(state: State, state_path: Path) -> bytes | None:
    if state.plan_key is None:
        return None
    try:
        text = state.plan_key.reveal()
    except MtlsformError as exc:  # sealed: the state is encrypted and no passphrase was given
        raise PlanError(f"the signature of a plan file is checked with the state's plan key, "
                        f"which {state_path} keeps encrypted", hint=exc.hint) from None
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        raise PlanError(f"the state {state_path} is damaged: its plan key is not hexadecimal",
                        hint=f"the state before the last run that changed it is in "
                             f"{backup_path(state_path)}") from None


def check_still_valid(saved: SavedPlan, stack: Stack, state: State, *,
                      in_repo: bool = False) -> None:
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
            hint=serial_conflict(made_at, state.serial) if in_repo
            else "a stale plan is never applied: make the plan again and review it")
