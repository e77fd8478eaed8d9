"""Request parameter declarations and the validator that enforces them.

Each action declares one table, `{field: Param}`, built with `Str`, `Int`, `Bool`, `List`,
`Model` and `Opaque` (type, required, length/range/choices, list size, nested model). `validate`
walks a request against its table and raises the first problem as the API would report it:
`UnknownParameter`, `MissingParameter`, a type error (`InvalidParameter.FormatError` for CLB,
`InvalidParameter` for SSL) or a value error (`InvalidParameterValue[.Range|.Length]`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtlsform.emulator.apierror import ApiError, missing, unknown


@dataclass(frozen=True)
class Param:
    kind: str  # str | int | bool | list | model | opaque
    required: bool = False
    min: int | None = None
    max: int | None = None
    length: tuple[int, int] | None = None
    choices: tuple[str, ...] | None = None
    fold_case: bool = False
    pattern: str | None = None
    item: Param | None = None
    max_items: int | None = None
    too_many: str | None = None
    fields: Mapping[str, Param] | None = None


def Str(required: bool = False, *, length: tuple[int, int] | None = None,
        choices: tuple[str, ...] | None = None, fold_case: bool = False,
        pattern: str | None = None) -> Param:
    return Param("str", required, length=length, choices=choices, fold_case=fold_case,
                 pattern=pattern)


def Int(required: bool = False, *, min: int | None = None,
        max: int | None = None) -> Param:
    return Param("int", required, min=min, max=max)


def Bool(required: bool = False) -> Param:
    return Param("bool", required)


def List(item: Param, required: bool = False, *, max_items: int | None = None,
         too_many: str | None = None) -> Param:
    return Param("list", required, item=item, max_items=max_items, too_many=too_many)


def Model(fields: Mapping[str, Param], required: bool = False) -> Param:
    return Param("model", required, fields=fields)


def Opaque(required: bool = False) -> Param:
    """A nested object accepted as is (features the emulator records but does not model)."""
    return Param("opaque", required)


@dataclass(frozen=True)
class Codes:
    """The error codes a service uses for type, choice, range and length problems."""

    format: str
    value: str
    range: str
    length: str


CLB_CODES = Codes("InvalidParameter.FormatError", "InvalidParameterValue",
                  "InvalidParameterValue.Range", "InvalidParameterValue.Length")
SSL_CODES = Codes("InvalidParameter", "InvalidParameterValue", "InvalidParameterValue",
                  "InvalidParameterValue")

_TYPE_NAMES = {"str": "String", "int": "Integer", "bool": "Boolean", "list": "Array",
               "model": "Object", "opaque": "Object"}


def validate(spec: Mapping[str, Param], params: Mapping[str, Any], codes: Codes, *,
             strings: bool = False, prefix: str = "") -> dict[str, Any]:
    """Checks `params` against `spec`; returns the cleaned values (absent and null keys dropped).

    `strings=True` accepts "true"/"false" for booleans (GET requests carry only strings).
    """
    for name in params:
        if name not in spec:
            raise unknown(prefix + name)
    clean: dict[str, Any] = {}
    for name, param in spec.items():
        value = params.get(name)
        if value is None:
            if param.required:
                raise missing(prefix + name)
            continue
        clean[name] = _check(param, value, prefix + name, codes, strings)
    return clean


def _type_error(path: str, param: Param, codes: Codes) -> ApiError:
    return ApiError(codes.format,
                    f"The type of parameter `{path}` is incorrect; "
                    f"expected {_TYPE_NAMES[param.kind]}.")


def _check(param: Param, value: Any, path: str, codes: Codes, strings: bool) -> Any:
    kind = param.kind
    if kind == "str":
        if not isinstance(value, str):
            raise _type_error(path, param, codes)
        return _check_str(param, value, path, codes)
    if kind == "int":
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
            value = int(value.strip())  # the API is lenient with numbers sent as strings
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(path, param, codes)
        if (param.min is not None and value < param.min) or \
                (param.max is not None and value > param.max):
            low = "" if param.min is None else param.min
            high = "" if param.max is None else param.max
            raise ApiError(codes.range,
                           f"The value of parameter `{path}` is out of range [{low}, {high}]: "
                           f"{value}.")
        return value
    if kind == "bool":
        if strings and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise _type_error(path, param, codes)
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise _type_error(path, param, codes)
        if param.max_items is not None and len(value) > param.max_items:
            raise ApiError(param.too_many or codes.length,
                           f"The parameter `{path}` has {len(value)} items; at most "
                           f"{param.max_items} are allowed.")
        assert param.item is not None
        return [_check(param.item, entry, f"{path}.{index}", codes, strings)
                if entry is not None else _null_item(path, index, codes)
                for index, entry in enumerate(value)]
    if kind == "model":
        if not isinstance(value, dict):
            raise _type_error(path, param, codes)
        assert param.fields is not None
        return validate(param.fields, value, codes, strings=strings, prefix=path + ".")
    if not isinstance(value, dict):  # opaque
        raise _type_error(path, param, codes)
    return value


def _null_item(path: str, index: int, codes: Codes) -> Any:
    raise ApiError(codes.format, f"The parameter `{path}.{index}` must not be null.")


def _check_str(param: Param, value: str, path: str, codes: Codes) -> str:
    if param.choices is not None:
        candidate = value.upper() if param.fold_case else value
        if candidate not in param.choices:
            raise ApiError(codes.value,
                           f"The value of parameter `{path}` must be one of "
                           f"{', '.join(param.choices)}; got `{_shown(value)}`.")
        return candidate
    if param.pattern is not None and not re.fullmatch(param.pattern, value):
        raise ApiError(codes.format,
                       f"The parameter `{path}` is malformed: `{_shown(value)}`.")
    if param.length is not None:
        low, high = param.length
        if not low <= len(value) <= high:
            raise ApiError(codes.length,
                           f"The length of parameter `{path}` must be between {low} and {high}; "
                           f"it is {len(value)}.")
    return value


def _shown(value: str) -> str:
    """A value as echoed in a message: short, one line."""
    text = value.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= 64 else text[:61] + "..."
