"""Attribute values in configurations and plans: references between resources, and the value
of an attribute known only after apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mtlsform.addresses import Address


class _Unknown:
    """The value of an attribute that apply will compute (an ID, a fingerprint...)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __reduce__(self) -> tuple[type[_Unknown], tuple[()]]:
        return (_Unknown, ())


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Ref:
    """A reference from one resource's configuration to another resource's attribute."""

    address: Address
    attribute: str

    def __str__(self) -> str:
        return f"{self.address}.{self.attribute}"


_PLAIN = (str, int, float, bool, type(None))  # values that hold no Ref: skipped at once


def evaluate(config: Mapping[str, Any], lookup: Callable[[Ref], Any]) -> dict[str, Any]:
    """Replaces every Ref in a configuration (at any depth) by what `lookup` returns for it."""
    return {key: value if isinstance(value, _PLAIN) else _evaluate_value(value, lookup)
            for key, value in config.items()}


def _evaluate_value(value: Any, lookup: Callable[[Ref], Any]) -> Any:
    if isinstance(value, Ref):
        return lookup(value)
    if isinstance(value, Mapping):
        return {k: _evaluate_value(v, lookup) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_evaluate_value(v, lookup) for v in value]
    return value


def references(config: Mapping[str, Any]) -> list[Ref]:
    """Every Ref inside a configuration, in a stable order (keys sorted, lists in order)."""
    found: list[Ref] = []

    def walk(value: Any) -> None:
        if isinstance(value, _PLAIN):
            return
        if isinstance(value, Ref):
            found.append(value)
        elif isinstance(value, Mapping):
            for k in sorted(value):
                walk(value[k])
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(config)
    return found


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False
