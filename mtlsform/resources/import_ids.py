"""The IDs `mtlsform import` takes: a cloud object's ID, joined with its parents' by `#`.

A CLB is `lb-x`, a listener `lb-x#lbl-y`, a rule `lb-x#lbl-y#loc-z`, a target bound to a rule
`lb-x#lbl-y#loc-z` (the backend the stack names) or `lb-x#lbl-y#loc-z#SERVER:PORT`, an upload
its certificate ID. The same form is what a plan shows for an object it starts managing.
"""

from __future__ import annotations

from mtlsform.addresses import Address
from mtlsform.resources.base import ImportRefused

SEPARATOR = "#"


def join_id(*parts: object) -> str:
    """An import ID from its parts (parents first)."""
    return SEPARATOR.join(str(p) for p in parts)


def split_id(address: Address, ident: str, prefixes: tuple[str, ...], kind: str,
             example: str, *, extra: int = 0) -> list[str]:
    """The parts of `ident`, each starting with its prefix (`extra` more parts may follow);
    refused when it is not the ID of a `kind`."""
    parts = ident.split(SEPARATOR)
    fits = (len(prefixes) <= len(parts) <= len(prefixes) + extra
            and all(part.startswith(prefix) and len(part) > len(prefix)
                    for part, prefix in zip(parts, prefixes, strict=False))
            and all(parts))
    if not fits:
        raise ImportRefused(
            f"{address}: {ident!r} is not the ID of a {kind}",
            hint=f"a {kind} is imported by an ID like {example}")
    return parts


def refuse(address: Address, message: str, *, hint: str) -> ImportRefused:
    """The one error of a refused import, naming the address."""
    return ImportRefused(f"{address}: {message}", hint=hint)
