"""Refresh: read what the cloud holds for a stack's state in as few provider calls as possible."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mtlsform.providers.base import Provider
from mtlsform.resources.base import CloudSnapshot
from mtlsform.resources.load_balancer import OWNER_TAG_PREFIX
from mtlsform.stack.model import Stack


def refresh(provider: Provider, state, stack: Stack | None) -> CloudSnapshot:
    """One DescribeLoadBalancers, one listener read per CLB (in parallel), one certificate read.

    `state` is the prior mtlsform.state.State (or None); adopted CLBs of the stack are read
    too, so adopting one is checked before anything is planned on it.
    """
    lb_ids: set[str] = set()
    cert_ids: set[str] = set()
    for resource in (state.resources if state is not None else ()):
        ident = resource.attributes.get("id")
        if not isinstance(ident, str):
            continue
        if resource.address.type == "load_balancer":
            lb_ids.add(ident)
        elif resource.address.type == "ssl_certificate":
            cert_ids.add(ident)
    tagged: dict[str, str] = {}
    if stack is not None:
        lb_ids.update(lb.id for lb in stack.load_balancers.values() if lb.id)
        recorded = {str(r.address) for r in (state.resources if state is not None else ())}
        unrecorded = [name for name, lb in stack.load_balancers.items()
                      if not lb.id and f"load_balancer.{name}" not in recorded]
        if unrecorded:  # one call finds every CLB this stack created and lost track of
            found = provider.find_load_balancers({f"{OWNER_TAG_PREFIX}stack": stack.name})
            for lb_id, info in found.items():
                address = info.tags.get(f"{OWNER_TAG_PREFIX}address", "")
                if address.removeprefix("load_balancer.") in unrecorded:
                    tagged[address] = lb_id
                    lb_ids.add(lb_id)

    load_balancers = provider.read_load_balancers(sorted(lb_ids)) if lb_ids else {}
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(load_balancers)))) as pool:
        results = pool.map(provider.read_listeners, sorted(load_balancers))
        listeners = dict(zip(sorted(load_balancers), results, strict=True))
    certificates = provider.read_certificates(sorted(cert_ids)) if cert_ids else {}
    return CloudSnapshot(load_balancers=load_balancers, listeners=listeners,
                         certificates=certificates, tagged=tagged)
