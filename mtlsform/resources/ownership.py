"""The tags that say an object in the cloud is ours: which stack made it, in which workspace,
for which address.

The workspace tag (`mtlsform:workspace=NAME`) is carried only outside the default workspace:
an object without it belongs to the default workspace, which is where everything made before
workspaces existed stays (its tags, and so its plans, are unchanged). Two workspaces of one
stack never find or take over each other's objects: an owner is a stack and a workspace.

Load balancers carry them (how a CLB whose record was lost is found again) and so do SSL
uploads (how an identical upload the service hands back is told apart from someone else's).
Listeners carry none: which stack owns one is read from its load balancer and its uploads
(`listener_claimants`), so a plan never takes over another stack's listener silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import Provider
from mtlsform.stack.model import Stack

OWNER_TAG_PREFIX = "mtlsform:"
STACK_TAG = f"{OWNER_TAG_PREFIX}stack"
ADDRESS_TAG = f"{OWNER_TAG_PREFIX}address"
WORKSPACE_TAG = f"{OWNER_TAG_PREFIX}workspace"
DEFAULT_WORKSPACE = "default"  # carries no workspace tag


def owner_tags(stack: Stack, address: Address) -> dict[str, str]:
    """The tags an object made for `address` of `stack` carries (in its workspace)."""
    tags = {STACK_TAG: stack.name, ADDRESS_TAG: str(address)}
    if stack.workspace != DEFAULT_WORKSPACE:
        tags[WORKSPACE_TAG] = stack.workspace
    return tags


def tagged_workspace(tags: Mapping[str, str]) -> str:
    """The workspace an object's tags say made it (no workspace tag: the default one)."""
    return tags.get(WORKSPACE_TAG) or DEFAULT_WORKSPACE


def other_owner(tags: Mapping[str, str], stack: Stack) -> str | None:
    """Who owns an object, from its tags, when that is not this stack's workspace: "stack
    'x'", or "workspace 'prod' of stack 'x'"; None when it is ours or carries no owner."""
    owner = tags.get(STACK_TAG)
    if not owner:
        return None
    workspace = tagged_workspace(tags)
    if owner == stack.name and workspace == stack.workspace:
        return None
    if workspace == DEFAULT_WORKSPACE and owner != stack.name:
        return f"stack {owner!r}"
    return f"workspace {workspace!r} of stack {owner!r}"


def owner_tag_text(tags: Mapping[str, str]) -> str:
    """The ownership tags as a message shows them."""
    shown = [f"{STACK_TAG}={tags.get(STACK_TAG)}"]
    if WORKSPACE_TAG in tags:
        shown.append(f"{WORKSPACE_TAG}={tags[WORKSPACE_TAG]}")
    return " and ".join(shown)


def listener_claimants(provider: Provider, stack: Stack, load_balancer_id: Any,
                       listener_id: Any) -> list[str]:
    """Which other stacks the cloud says own a listener (and so its rules and targets).

    The cloud has no tags on listeners, so ownership is read from what carries them: the load
    balancer (`mtlsform:stack` on a CLB another stack created), else the uploads the listener
    and its rules present (each stack uploads its certificates with its own tags), so that two
    stacks sharing an adopted CLB each own the listeners bound to their certificates.
    """
    if not isinstance(load_balancer_id, str):
        return []
    lb = provider.read_load_balancers([load_balancer_id]).get(load_balancer_id)
    lb_tags = lb.tags if lb is not None else {}
    owner = other_owner(lb_tags, stack)
    if owner:
        tag = "tags" if WORKSPACE_TAG in lb_tags else "tag"
        return [f"{owner} (the {tag} {owner_tag_text(lb_tags)} on load balancer "
                f"{load_balancer_id})"]
    listener = (provider.read_listeners(load_balancer_id) or {}).get(str(listener_id))
    if listener is None:
        return []
    bindings = [listener.certificate, *(rule.certificate for rule in listener.rules)]
    ids = sorted({ident for b in bindings if b is not None
                  for ident in (b.certificate_id, *b.extra_certificate_ids, b.client_ca_id)
                  if ident})
    claims = []
    for ident, info in sorted(provider.read_certificates(ids).items()) if ids else ():
        owner = other_owner(info.tags, stack)
        if owner:
            tag = "tags" if WORKSPACE_TAG in info.tags else "tag"
            claims.append(f"{owner} (its certificate {ident} carries the {tag} "
                          f"{owner_tag_text(info.tags)})")
    return claims[:1]
