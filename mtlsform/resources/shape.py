"""The shape of what a resource type records in the state, and the check of a record against it.

A shape is data, written the way the record looks:

    {"id": str, "port": int, "tags": map_of(str), "dns_names": [str],
     "issuer": nullable(str), "export": optional(nullable({...})),
     "private_key_pem": secret(str)}

- `str`, `int`, `bool`, `float` (a float also accepts an integer; an integer never accepts
  true or false) are the JSON kinds;
- a dict is an object with those keys: each is required unless wrapped in `optional(...)`;
  keys the shape does not name are kept and not checked (a newer mtlsform may record more);
- a one-item list is a list of items of that shape, `map_of(shape)` an object of any keys;
- `nullable(shape)` also accepts null, `secret(shape)` is a sensitive value (never echoed).

`check(shape, value)` returns the value (healed where that needs no guess: a secret recorded
without its sensitive mark is wrapped again, so it is never written in clear) and the first
`Damage` found, or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtlsform.errors import MtlsformError
from mtlsform.sensitive import Sensitive


@dataclass(frozen=True)
class Nullable:
    shape: Any


@dataclass(frozen=True)
class OptionalKey:
    shape: Any


@dataclass(frozen=True)
class MapOf:
    shape: Any


@dataclass(frozen=True)
class Secret:
    shape: Any


def nullable(shape: Any) -> Nullable:
    """`shape` or null."""
    return Nullable(shape)


def optional(shape: Any) -> OptionalKey:
    """A key of an object that may be missing (older records lack it)."""
    return OptionalKey(shape)


def map_of(shape: Any) -> MapOf:
    """An object whose keys are any strings and whose values have `shape`."""
    return MapOf(shape)


def secret(shape: Any) -> Secret:
    """A sensitive value of `shape` (kept wrapped; an encrypted one is checked by its tag)."""
    return Secret(shape)


@dataclass(frozen=True)
class Damage:
    """Where a record departs from its shape: `path` (e.g. `health_check.interval`), what was
    expected and what was found, both as words (never the value itself)."""

    path: str
    expected: str
    found: str

    def describe(self) -> str:
        if self.found == "missing":
            return f"{self.path} is missing (it should be {self.expected})"
        return f"{self.path} should be {self.expected}, found {self.found}"


_KINDS = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def expected(shape: Any) -> str:
    """The shape in words: 'a string', 'a list', 'a string or null', ..."""
    if isinstance(shape, OptionalKey | Secret):
        return expected(shape.shape)
    if isinstance(shape, Nullable):
        return f"{expected(shape.shape)} or null"
    if isinstance(shape, list):
        return "a list"
    if isinstance(shape, dict | MapOf):
        return "an object"
    return _KINDS[shape]


def kind(value: Any) -> str:
    """What a value is, in words, without showing it."""
    if isinstance(value, Sensitive):
        return "a sensitive value"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _join(path: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{path}[{step}]"
    return f"{path}.{step}" if path else step


def check(shape: Any, value: Any, path: str = "") -> tuple[Any, Damage | None]:
    """`value` (healed where that needs no guess) and the first damage in it, or None."""
    where = path or "attributes"
    if isinstance(shape, OptionalKey):
        return check(shape.shape, value, path)
    if isinstance(shape, Nullable):
        return (None, None) if value is None else check(shape.shape, value, path)
    if isinstance(shape, Secret):
        return _check_secret(shape, value, where)
    if isinstance(value, Sensitive):
        return value, Damage(where, expected(shape), "a sensitive value")
    if isinstance(shape, dict):
        return _check_object(shape, value, path)
    if isinstance(shape, MapOf):
        if not isinstance(value, Mapping):
            return value, Damage(where, "an object", kind(value))
        return _check_items(shape.shape, list(value.items()), path, dict)
    if isinstance(shape, list):
        if not isinstance(value, list | tuple):
            return value, Damage(where, "a list", kind(value))
        return _check_items(shape[0], list(enumerate(value)), path, list)
    if _is(shape, value):
        return value, None
    return value, Damage(where, expected(shape), kind(value))


def _is(shape: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return shape is bool
    if shape is float:
        return isinstance(value, int | float)
    return isinstance(value, shape)


def _check_secret(shape: Secret, value: Any, where: str) -> tuple[Any, Damage | None]:
    if not isinstance(value, Sensitive):
        inner, damage = check(shape.shape, value, where)
        if damage is not None:  # the kind of a secret is told, never the secret
            return value, Damage(where, expected(shape.shape), kind(value))
        return Sensitive(inner), None  # healed: a secret left without its sensitive mark
    try:
        revealed = value.reveal()
    except MtlsformError:
        return value, None  # sealed without the passphrase: its tag is checked when opened
    _, damage = check(shape.shape, revealed, where)
    if damage is not None:
        return value, Damage(where, f"{expected(shape.shape)} (sensitive)",
                             f"{kind(revealed)} (sensitive)")
    return value, None


def _check_object(shape: dict[str, Any], value: Any, path: str) -> tuple[Any, Damage | None]:
    if not isinstance(value, Mapping):
        return value, Damage(path or "attributes", "an object", kind(value))
    healed = dict(value)
    for key in sorted(shape):
        item = shape[key]
        here = _join(path, key)
        if key not in value:
            if isinstance(item, OptionalKey):
                continue
            return value, Damage(here, expected(item), "missing")
        healed[key], damage = check(item, value[key], here)
        if damage is not None:
            return value, damage
    return healed, None


def _check_items(shape: Any, items: list[tuple[Any, Any]], path: str,
                 build: type) -> tuple[Any, Damage | None]:
    healed = []
    for step, item in items:
        value, damage = check(shape, item, _join(path, step))
        if damage is not None:
            return None, damage
        healed.append((step, value))
    if build is dict:
        return {k: v for k, v in healed}, None
    return [v for _, v in healed], None
