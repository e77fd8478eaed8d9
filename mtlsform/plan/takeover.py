"""No silent takeover: a plan never starts managing an object another stack owns.

An object the cloud holds at an address the stack declares, with no record in the state, is
found by its natural key (a listener on the declared port with the declared name, a rule for
the declared domain and URL...). The plan says it "will be imported"; before that, its type
reads who owns it (`ResourceType.claimants`: the load balancer's `mtlsform:stack` tag, else
the tags of the uploads the listener presents). One owned by another stack is refused, with
its owner named: it is handed over only explicitly, with `mtlsform import`.
"""

from __future__ import annotations

from mtlsform.errors import PlanError
from mtlsform.plan.model import Plan
from mtlsform.providers.base import Provider
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.stack.model import Stack


def refuse_takeover(plan: Plan, provider: Provider, stack: Stack) -> None:
    """Refuses a plan that would import objects the cloud says another stack owns."""
    claimed: list[str] = []
    for change in plan.importing:
        rtype = RESOURCE_TYPES[change.address.type]
        owners = rtype.claimants(provider, stack, change.before or {})
        if owners:
            claimed.append(f"  {change.address}: {change.importing}, managed by {owners[0]}")
    if not claimed:
        return
    count = "an object" if len(claimed) == 1 else f"{len(claimed)} objects"
    raise PlanError(
        f"the stack {stack.name!r} declares {count} that another stack manages; planning would "
        "take them over (change their settings, replace their certificates, unbind their "
        "targets):\n" + "\n".join(claimed),
        hint="give this stack's listeners their own ports (two stacks can share a load "
             "balancer with different listeners); or hand the object over explicitly: remove "
             "it from the other stack, then `mtlsform import STACK ADDRESS ID` records it "
             "here")
