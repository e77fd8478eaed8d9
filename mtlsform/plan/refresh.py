"""Refresh: read what the cloud holds for a stack and its state in as few provider calls as
possible, as a CloudSnapshot of the collections the resource types declare.

For each type the IDs wanted are those the state records, those the stack names (an adopted
CLB's `id:`) and those the type finds by natural key for instances the state does not record
(one call per type). Root collections are read in one call each; a collection read per object
of another (listeners per CLB) is read in parallel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import Provider
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.base import CloudSnapshot, Collection
from mtlsform.resources.graph import compiled
from mtlsform.stack.model import Stack
from mtlsform.state.model import State

# Collections read per parent object (a CLB's listeners) are read by this many threads: the
# reads wait on the network; the client-side rate limit keeps them within the cloud's.
READERS = 16


def refresh(provider: Provider, state: State | None, stack: Stack | None) -> CloudSnapshot:
    """Reads every collection the stack's and the state's resource types need."""
    wanted: dict[str, set[str]] = defaultdict(set)
    needed: dict[str, Collection] = {}
    resources = state.resources if state is not None else ()
    recorded = {r.address for r in resources}
    for type_name in {address.type for address in recorded}:
        needed.update({c.name: c for c in RESOURCE_TYPES[type_name].collections})
    for resource in resources:
        id_collection = RESOURCE_TYPES[resource.address.type].id_collection
        ident = resource.attributes.get("id")
        if id_collection and isinstance(ident, str):
            wanted[id_collection].add(ident)
    found: dict[Address, str] = {}
    compiled_stack = compiled(stack) if stack is not None else None
    for rtype in (RESOURCE_TYPES.values() if compiled_stack is not None else ()):
        assert stack is not None and compiled_stack is not None
        addresses = compiled_stack.instances.get(rtype.name, ())
        if not addresses:
            continue
        needed.update({c.name: c for c in rtype.collections})
        if rtype.id_collection is None:
            continue
        for address in addresses:  # objects the stack names by ID (an adopted CLB)
            config = compiled_stack.configs[address]
            named = config.get("id") if not rtype.local else None
            if isinstance(named, str):
                wanted[rtype.id_collection].add(named)
        unrecorded = [a for a in addresses if a not in recorded]
        if unrecorded:
            for address, ident in rtype.find(provider, stack, unrecorded).items():
                found[address] = ident
                wanted[rtype.id_collection].add(ident)
    return CloudSnapshot(collections=_read(provider, needed, wanted), found=found)


def _read(provider: Provider, needed: Mapping[str, Collection],
          wanted: Mapping[str, set[str]]) -> dict[str, Mapping[str, Any]]:
    needed = dict(needed)
    for collection in list(needed.values()):
        if collection.per is not None:
            needed.setdefault(collection.per.name, collection.per)
    read: dict[str, Mapping[str, Any]] = {}
    for name, collection in sorted(needed.items()):
        if collection.per is None and collection.read is not None:
            ids = sorted(wanted.get(name, ()))
            read[name] = collection.read(provider, ids) if ids else {}
    for name, collection in sorted(needed.items()):
        if collection.per is None or collection.read_one is None:
            continue
        parents = sorted(read.get(collection.per.name, {}))
        with ThreadPoolExecutor(max_workers=min(READERS, max(1, len(parents)))) as pool:
            results = list(pool.map(partial(collection.read_one, provider), parents))
        read[name] = dict(zip(parents, results, strict=True))
    return read
