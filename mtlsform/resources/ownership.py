"""The tags that say an object in the cloud is ours: which stack made it, for which address.

Load balancers carry them (how a CLB whose record was lost is found again) and so do SSL
uploads (how an identical upload the service hands back is told apart from someone else's).
"""

from __future__ import annotations

from mtlsform.addresses import Address
from mtlsform.stack.model import Stack

OWNER_TAG_PREFIX = "mtlsform:"
STACK_TAG = f"{OWNER_TAG_PREFIX}stack"
ADDRESS_TAG = f"{OWNER_TAG_PREFIX}address"


def owner_tags(stack: Stack, address: Address) -> dict[str, str]:
    """The tags an object made for `address` of `stack` carries."""
    return {STACK_TAG: stack.name, ADDRESS_TAG: str(address)}
