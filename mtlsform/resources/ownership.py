"""The tags that say an object in the cloud is ours: which stack made it, for which address.

Load balancers carry them (how a CLB whose record was lost is found again) and so do SSL
uploads (how an identical upload the service hands back is told apart from someone else's).
Listeners carry none: which stack owns one is read from its load balancer and its uploads
(`listener_claimants`), so a plan never takes over another stack's listener silently.
"""

from __future__ import annotations

from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import Provider
from mtlsform.stack.model import Stack

OWNER_TAG_PREFIX = "mtlsform:"
STACK_TAG = f"{OWNER_TAG_PREFIX}stack"
ADDRESS_TAG = f"{OWNER_TAG_PREFIX}address"


def owner_tags(stack: Stack, address: Address) -> dict[str, str]:
    """The tags an object made for `address` of `stack` carries."""
    return {STACK_TAG: stack.name, ADDRESS_TAG: str(address)}


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
    owner = (lb.tags if lb is not None else {}).get(STACK_TAG)
    if owner and owner != stack.name:
        return [f"stack {owner!r} (the tag {STACK_TAG}={owner} on load balancer "
                f"{load_balancer_id})"]
    listener = (provider.read_listeners(load_balancer_id) or {}).get(str(listener_id))
    if listener is None:
        return []
    bindings = [listener.certificate, *(rule.certificate for rule in listener.rules)]
    ids = sorted({ident for b in bindings if b is not None
                  for ident in (b.certificate_id, b.client_ca_id) if ident})
    claims = []
    for ident, info in sorted(provider.read_certificates(ids).items()) if ids else ():
        owner = info.tags.get(STACK_TAG)
        if owner and owner != stack.name:
            claims.append(f"stack {owner!r} (its certificate {ident} carries the tag "
                          f"{STACK_TAG}={owner})")
    return claims[:1]
