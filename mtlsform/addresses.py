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


def register_types(names: Iterable[str]) -> None:
    """Registers resource types, in dependency order (the resource registry calls this)."""
    for name in names:
        _TYPE_RANK.setdefault(name, len(_TYPE_RANK))


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

    def sort_key(self) -> tuple[int, str, str, str, str]:
        rank = _TYPE_RANK.get(self.type, len(_TYPE_RANK))
        return (rank, self.type, self.name, self.key or "", self.sub or "")

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
