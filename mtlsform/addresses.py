"""Resource addresses: small immutable values with one string form, a parser and an order.

Forms (list order in the stack never changes an address):
    certificate.ca
    ssl_certificate.server
    load_balancer.web
    listener.https
    rule.https["www.example.com/"]
    target.https["www.example.com/"].rs-1

This module names no type. The resource registry (`mtlsform.resources`) registers its types in
dependency order, which is the order addresses sort in (a type it does not know sorts last, by
name), and checks the types of addresses where they enter the engine: a state, a plan file, a
command line. Here an address is only its syntax, so the state package can read any file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Registered resource type -> its rank in the sort order.
_TYPE_RANK: dict[str, int] = {}
# Bumped by every registration: an address's cached sort key is good while it is unchanged.
_generation = 0


def register_types(names: Iterable[str]) -> None:
    """Registers resource types, in dependency order (the resource registry calls this)."""
    global _generation
    for name in names:
        _TYPE_RANK.setdefault(name, len(_TYPE_RANK))
    _generation += 1


def registered_types() -> tuple[str, ...]:
    """The registered type names, in order."""
    return tuple(_TYPE_RANK)

_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
# A target's sub-name is a backend name, or `server:port` for a target mtlsform did not create.
_SUB = r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*"
_PATTERN = re.compile(
    rf'^(?P<type>[a-z_]+)\.(?P<name>{_NAME}?)'
    rf'(?:\[(?P<key>"(?:[^"\\]|\\.)*")\](?:\.(?P<sub>{_SUB}))?)?$'
)


class AddressError(ValueError):
    """A string is not a valid resource address."""


@dataclass(frozen=True)
class Address:
    """Where a resource lives in a stack: type, name, and for rules/targets a key and a sub-name."""

    type: str
    name: str
    key: str | None = None
    sub: str | None = None

    def __post_init__(self) -> None:
        if not _TYPE.match(self.type):
            raise AddressError(f"{self.type!r} is not a resource type name")
        if self.sub is not None and self.key is None:
            raise AddressError("an address with a sub-name needs a key")

    @classmethod
    def parse(cls, text: str) -> Address:
        m = _PATTERN.match(text.strip())
        if not m or not m.group("name"):
            raise AddressError(
                f"{text!r} is not a resource address "
                '(expected e.g. listener.https or rule.https["www.example.com/"])'
            )
        key = json.loads(m.group("key")) if m.group("key") else None
        try:
            return cls(m.group("type"), m.group("name"), key, m.group("sub"))
        except AddressError as exc:
            raise AddressError(f"{text!r}: {exc}") from None

    def __str__(self) -> str:
        text = f"{self.type}.{self.name}"
        if self.key is not None:
            text += f"[{json.dumps(self.key, ensure_ascii=False)}]"
        if self.sub is not None:
            text += f".{self.sub}"
        return text

    def __hash__(self) -> int:
        # Addresses key every map of the engine: the hash is computed once.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.type, self.name, self.key, self.sub))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, str | None]:
        # Never the caches: a string's hash differs from one process to the next.
        return {"type": self.type, "name": self.name, "key": self.key, "sub": self.sub}

    def sort_key(self) -> tuple[int, str, str, str, str]:
        # Sorting and the walker's heaps compare addresses millions of times at 10,000
        # resources: the key is computed once per registration generation.
        cached = self.__dict__.get("_sort")
        if cached is None or cached[0] != _generation:
            rank = _TYPE_RANK.get(self.type, len(_TYPE_RANK))
            cached = (_generation, (rank, self.type, self.name, self.key or "", self.sub or ""))
            object.__setattr__(self, "_sort", cached)
        return cached[1]

    def __lt__(self, other: Address) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: Address) -> bool:
        return self.sort_key() <= other.sort_key()

    def __gt__(self, other: Address) -> bool:
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: Address) -> bool:
        return self.sort_key() >= other.sort_key()


def rule_key(domain: str, url: str) -> str:
    """The key that names a rule within its listener: domain followed by URL path."""
    return f"{domain}{url}"
