"""Sensitive: a wrapper that keeps secrets out of str(), repr(), logs and JSON."""

from __future__ import annotations

from typing import Generic, NoReturn, TypeVar

T = TypeVar("T")

REDACTED = "(sensitive)"


class Sensitive(Generic[T]):
    """Holds a secret value; only `reveal()` gives it back.

    `str()` and `repr()` show `(sensitive)`, `json.dumps` refuses it, and pickling is refused,
    so a secret can only leave through an explicit `reveal()`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("sensitive", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("sensitive values cannot be pickled")
