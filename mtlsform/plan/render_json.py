"""The machine rendering of a plan, in the shape Terraform's `show -json` made familiar.

Values apply will compute are `null` in `after` and `true` in `after_unknown`; sensitive
attributes are never present, only marked in `before_sensitive`/`after_sensitive`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mtlsform import __version__
from mtlsform.plan.model import Drift, Plan, ResourceChange
from mtlsform.references import UNKNOWN
from mtlsform.sensitive import Sensitive

JSON_FORMAT_VERSION = "1.1"  # 1.1: workspace, found_by_tags


def _known(value: Any) -> Any:
    """`value` with unknowns as null and secrets removed."""
    if value is UNKNOWN or isinstance(value, Sensitive):
        return None
    if isinstance(value, Mapping):
        return {k: _known(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_known(v) for v in value]
    return value


def _unknown_mask(value: Any) -> Any:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        mask = {k: _unknown_mask(v) for k, v in sorted(value.items())}
        return {k: v for k, v in mask.items() if v}
    return False


def _sensitive_mask(names: frozenset[str]) -> dict[str, bool]:
    return dict.fromkeys(sorted(names), True)


def change_json(change: ResourceChange) -> dict[str, Any]:
    address = change.address
    entry: dict[str, Any] = {
        "address": str(address),
        "type": address.type,
        "name": address.name,
        "change": {
            "actions": change.action.json,
            "before": _known(change.before),
            "after": _known(change.after),
            "after_unknown": _unknown_mask(change.after or {}),
            "before_sensitive": _sensitive_mask(change.sensitive) if change.before else False,
            "after_sensitive": _sensitive_mask(change.sensitive) if change.after else False,
            "replace_paths": [[p] for p in change.replace_paths],
        },
    }
    if change.moved_from is not None:  # as Terraform's plan JSON says it
        entry["previous_address"] = str(change.moved_from)
    if address.key is not None:
        entry["index"] = address.key
    if address.sub is not None:
        entry["sub"] = address.sub
    if change.importing is not None:  # as Terraform's `change.importing`
        entry["change"]["importing"] = {"id": change.importing}
    if change.deposed:
        entry["deposed"] = change.deposed
    entry["action_reason"] = change.reason.code
    if change.detail:
        entry["action_detail"] = change.detail
    return entry


def drift_json(drift: Drift) -> dict[str, Any]:
    return {
        "address": str(drift.address),
        "type": drift.address.type,
        "change": {
            "actions": ["update"] if drift.after is not None else ["delete"],
            "before": _known(drift.before),
            "after": _known(drift.after),
        },
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    counts = plan.counts()
    return {
        "format_version": JSON_FORMAT_VERSION,
        "mtlsform_version": __version__,
        "stack": plan.stack,
        "workspace": plan.workspace,
        "mode": plan.mode,
        "prior_state": {"lineage": plan.prior_lineage, "serial": plan.prior_serial},
        "refreshed": plan.refreshed,
        # what the configuration was compared with: the cloud, or only the state (no refresh)
        "compared_with": "cloud" if plan.refreshed else "state",
        # --target: the plan covers only the targets and what they depend on
        "partial": plan.partial,
        "targets": [str(t) for t in plan.targets],
        "resource_changes": [change_json(c) for c in plan.changes],
        "resource_drift": [drift_json(d) for d in plan.drift],
        "output_changes": {
            o.name: {
                "actions": ["no-op"] if (o.before == o.after and not o.after_unknown)
                else ["create"] if o.before is None else ["update"],
                "before": _known(o.before),
                "after": _known(o.after),
                "after_unknown": o.after_unknown,
            }
            for o in plan.outputs
        },
        "interrupted_operations": list(plan.interrupted_operations),
        # objects found in the cloud by their ownership tags with no record: always announced
        "found_by_tags": [{"address": str(f.address), "id": f.ident, "how": f.how}
                          for f in plan.found],
        "warnings": [{"address": w.path, "message": w.message} for w in plan.warnings],
        "summary": counts,
        "has_changes": plan.has_changes,
    }


def render_plan_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
