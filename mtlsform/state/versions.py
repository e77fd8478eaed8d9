"""State file format versions: the version this mtlsform writes, and the chain of upgrades.

A reader refuses a file from a newer format by name and upgrades an older one one step at a time
(`UPGRADES[n]` turns a format-n document into a format-n+1 document), so each step is small and
tested on its own.

Format 2 dropped each resource's `status` (only "ready" was ever written; the "tainted" it
allowed was never acted on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mtlsform import __version__
from mtlsform.errors import StateError

FORMAT_VERSION = 2

Document = dict[str, Any]
Upgrade = Callable[[Document], Document]



def _drop_status(doc: Document) -> Document:
    """Format 1 -> 2: resources lose `status`."""
    resources = doc.get("resources")
    if isinstance(resources, list):
        doc["resources"] = [
            {k: v for k, v in item.items() if k != "status"} if isinstance(item, dict) else item
            for item in resources
        ]
    return {**doc, "format_version": 2}


# from-version -> function returning the document in from-version + 1
UPGRADES: dict[int, Upgrade] = {1: _drop_status}


def upgrade_document(doc: Document, *, source: str, current: int = FORMAT_VERSION,
                     steps: Mapping[int, Upgrade] | None = None) -> Document:
    """`doc` in format `current`, upgraded step by step; refuses newer formats by name."""
    steps = UPGRADES if steps is None else steps
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise StateError(
            f"state file {source} has no valid format_version (found {version!r})",
            hint="this does not look like an mtlsform state file")
    if version > current:
        writer = doc.get("tool_version")
        by = f"mtlsform {writer}, " if isinstance(writer, str) and writer else ""
        raise StateError(
            f"state file {source} was written by a newer mtlsform ({by}format {version}); "
            f"this is mtlsform {__version__} which reads format {current} — upgrade mtlsform")
    while version < current:
        step = steps.get(version)
        if step is None:
            raise StateError(
                f"state file {source} has format {version}, which mtlsform {__version__} "
                f"cannot upgrade (it reads formats {min(steps, default=current)}..{current})")
        doc = step(dict(doc))
        if doc.get("format_version") != version + 1:
            raise AssertionError(f"upgrade from format {version} did not produce {version + 1}")
        version += 1
    return doc
