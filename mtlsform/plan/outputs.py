"""Output values: a stack output's template filled from resource attributes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mtlsform.addresses import Address
from mtlsform.references import UNKNOWN
from mtlsform.stack.model import Output


def resolve_output(output: Output,
                   attributes: Callable[[Address], Mapping[str, Any] | None]) -> Any:
    """The output's value: UNKNOWN if a referenced value is not known yet, None if missing.

    A template that is exactly one reference keeps the value's type (a port stays a number).
    """
    values: dict[str, Any] = {}
    for ref in output.references:
        attrs = attributes(Address(ref.type, ref.name))
        value = None if attrs is None else attrs.get(ref.attribute)
        if value is UNKNOWN or value is None:
            return value
        values[str(ref)] = value
    if len(output.references) == 1 and output.template.strip() == "${" + str(
            output.references[0]) + "}":
        return values[str(output.references[0])]
    return output.render({k: str(v) for k, v in values.items()})
