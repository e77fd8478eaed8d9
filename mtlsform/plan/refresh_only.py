"""A refresh-only plan: what changed outside mtlsform, and nothing to do in the cloud.

Applied, it records what refresh read (the drift) in the state; every change of the normal
plan becomes a no-op that carries the object as the cloud holds it now, and objects the state
does not record yet are left out (there is nothing to record of them).
"""

from __future__ import annotations

from dataclasses import replace

from mtlsform.actions import Action, Reason
from mtlsform.plan.model import Plan, ResourceChange

REFRESH_ONLY = "refresh-only"


def refresh_only(plan: Plan) -> Plan:
    """`plan` (made with a refresh) as a refresh-only plan."""
    kept = tuple(_as_recorded(change) for change in plan.changes
                 if change.before is not None and change.deposed is None
                 and change.unmanaged is None)
    return replace(plan, mode=REFRESH_ONLY, changes=kept, outputs=())


def _as_recorded(change: ResourceChange) -> ResourceChange:
    return ResourceChange(address=change.address, action=Action.NOOP, reason=Reason.MATCHES,
                          before=change.before, after=change.before,
                          sensitive=change.sensitive, dependencies=change.dependencies)
