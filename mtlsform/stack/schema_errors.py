"""Schema validation of a stack, with each JSON Schema error turned into a clear diagnostic.

Raw jsonschema messages are never shown: each common keyword (type, enum, const, minimum,
maximum, required, additionalProperties, pattern, lengths, items, oneOf) has its own English
wording, placed at the value's (or the key's) position in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.compose import plain_value
from mtlsform.stack.schemafile import validator
from mtlsform.stack.suggest import did_you_mean, one_of
from mtlsform.stack.tree import MapNode, Path, Scalar, format_path, get, position_of, to_plain
from mtlsform.stack.values import PATTERNS, describe, first_sentence, pattern_problem, quote

if TYPE_CHECKING:
    from jsonschema import ValidationError

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def schema_diagnostics(root: MapNode, poisoned: Sequence[Path] = ()) -> tuple[
        list[Diagnostic], set[Path]]:
    """Problems of shape, and the paths of every value found wrong (to skip them later).

    Errors at or below a poisoned path (a value already reported, e.g. an unresolved variable)
    are not reported again.
    """
    diagnostics: list[Diagnostic] = []
    bad_paths: set[Path] = set()
    for err in validator().iter_errors(to_plain(root)):
        for leaf in _leaves(err):
            path = tuple(leaf.absolute_path)
            if leaf.validator == "propertyNames" or "propertyNames" in leaf.absolute_schema_path:
                path = (*path, leaf.instance)
            if any(path[: len(p)] == p for p in poisoned):
                bad_paths.add(path)
                continue
            found = _translate(root, leaf, path)
            if leaf.validator == "type":
                found = _retype(root, leaf, path, found)
            if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
                # The unknown keys are wrong, not their siblings: what those refer to is
                # still checked.
                known = leaf.schema.get("properties", {})
                bad_paths.update((*path, key) for key in leaf.instance if key not in known)
            else:
                bad_paths.update(path for d in found if d.severity == "error")
            diagnostics.extend(found)
    return diagnostics, bad_paths


def _retype(root: MapNode, err: ValidationError, path: Path,
            found: list[Diagnostic]) -> list[Diagnostic]:
    """A value that is exactly one ${var.x} also has its other reading: text, or YAML's.

    `port: ${var.port}` is read as YAML reads 443 (an integer), `common_name: ${var.cn}` as text
    even when cn is 12345: whichever reading the schema accepts is kept (in the tree).
    """
    node = get(root, *path)
    if not isinstance(node, Scalar) or node.variable is None or node.text is None:
        return found
    other = plain_value(node.text) if isinstance(node.value, str) else node.text
    errors = list(validator().evolve(schema=err.schema).iter_errors(other))
    if any(e.validator == "type" for e in errors):
        return found
    node.value = other
    return [d for e in errors for d in _translate(root, e, path)]


def _leaves(err: ValidationError) -> Iterator[ValidationError]:
    """The errors to report: for oneOf, those of the branch matching the value's type."""
    if err.validator not in ("oneOf", "anyOf") or not err.context:
        yield err
        return
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in err.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        subs for subs in by_branch.values()
        if not any(s.validator == "type" and not s.relative_path for s in subs)
    ]
    if len(fitting) == 1:
        for sub in fitting[0]:
            yield from _leaves(sub)
    else:
        yield err


def _translate(root: MapNode, err: ValidationError, path: Path) -> list[Diagnostic]:
    keyword = err.validator
    where = format_path(path)
    value = err.instance
    if keyword == "additionalProperties":
        return _unknown_keys(root, err, path)
    if keyword == "required":
        return _missing_keys(root, err, path)
    if "propertyNames" in err.absolute_schema_path:
        message, hint = _message(err, keyword, value)
        if keyword == "pattern" and err.validator_value not in PATTERNS:
            message = f"{describe(value)} is not a valid name"
        elif keyword in ("minLength", "maxLength"):
            message = f"the key {describe(value)} {message}"
        return [error(message, path=where, position=position_of(root, path, key=True),
                      hint=hint)]
    position = position_of(root, path)
    message, hint = _message(err, keyword, value)
    node = get(root, *path)
    if isinstance(node, Scalar) and node.variable:
        hint = f"the value comes from ${{var.{node.variable}}}"
    return [error(message, path=where, position=position, hint=hint)]


def _message(err: ValidationError, keyword: str, value: Any) -> tuple[str, str | None]:
    """The wording of one error; `value` is the JSON value checked, of the type the keyword
    applies to (a string for maxLength, a list for maxItems...)."""
    expected = err.validator_value
    if keyword == "type":
        return _type_message(expected, value)
    if keyword == "enum":
        options = ", ".join(str(o) for o in expected)
        hint = did_you_mean(value, [str(o) for o in expected]) if isinstance(value, str) else None
        return f"{describe(value)} is not one of {options}", hint
    if keyword == "const":
        if tuple(err.absolute_path) == ("version",):
            return (f"version {describe(value)} is not supported: this mtlsform reads version "
                    f"{expected}", "write `version: 1`")
        return f"must be {describe(expected)}, not {describe(value)}", None
    if keyword == "minimum":
        return f"{describe(value)} is below the minimum {expected}", None
    if keyword == "maximum":
        return f"{describe(value)} is above the maximum {expected}", None
    if keyword == "pattern":
        return pattern_problem(expected, value)
    if keyword == "minLength":
        if expected == 1:
            return "must not be empty", None
        return f"{describe(value)} is too short (at least {expected} characters)", None
    if keyword == "maxLength":
        return f"is {len(value)} characters long; at most {expected} are allowed", None
    if keyword == "minItems":
        return f"must list at least {expected} item{'s' if expected != 1 else ''}", None
    if keyword == "maxItems":
        return f"lists {len(value)} items; at most {expected} are allowed", None
    if keyword == "maxProperties":
        return f"has {len(value)} entries; at most {expected} are allowed", None
    if keyword == "uniqueItems":
        return f"{describe(_first_duplicate(value))} is listed more than once", None
    if keyword in ("oneOf", "anyOf"):
        titles = [branch.get("title") or _TYPE_NAMES.get(str(branch.get("type")), "")
                  for branch in expected]
        if all(titles):
            return f"expected {' or '.join(titles)}, got {describe(value)}", None
    return err.message, None


def _type_message(expected: str | list[str], value: object) -> tuple[str, str | None]:
    names = [expected] if isinstance(expected, str) else list(expected)
    if {"string", "boolean"} <= set(names):  # a variable or an output: any single value
        wanted = "a single value (text, a number or true/false)"
    else:
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names if n != "null")
    hint = None
    if "string" in names and isinstance(value, bool | int | float):
        hint = "quote the value to make it a string"
    elif isinstance(value, str) and ("integer" in names or "boolean" in names):
        hint = "remove the quotes"
    return f"expected {wanted}, got {describe(value)}", hint


_CREDENTIAL = re.compile(r"conn|password|secret|key|token|credential|dsn|url", re.IGNORECASE)


def _unknown_keys(root: MapNode, err: ValidationError, path: Path) -> list[Diagnostic]:
    known = list(err.schema.get("properties", {}))
    out = []
    for key in err.instance:
        if key in known:
            continue
        key_path = (*path, key)
        hint = did_you_mean(key, known) or (f"allowed keys: {one_of(known)}" if known else None)
        if path[:1] == ("backend",) and _CREDENTIAL.search(str(key)):
            hint = ("credentials never go in the stack file: the pg connection string comes "
                    "from PG_CONN_STR (or the variable conn_str_env names), COS keys from "
                    "TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY or the SDK's usual places")
        out.append(error(f"unknown key {quote(key)}", path=format_path(key_path),
                         position=position_of(root, key_path, key=True), hint=hint))
    return out


def _missing_keys(root: MapNode, err: ValidationError, path: Path) -> list[Diagnostic]:
    properties = err.schema.get("properties", {})
    out = []
    for key in err.validator_value:
        # jsonschema reports each missing key in its own error, named in its message.
        if key in err.instance or not err.message.startswith(repr(key)):
            continue
        out.append(error(f"missing required key {key!r}", path=format_path(path),
                         position=position_of(root, path, key=True),
                         hint=_key_hint(key, properties.get(key, {}))))
    return out


def _key_hint(key: str, schema: dict[str, Any]) -> str | None:
    """What to write for a missing key: its value, its choices, or what it is."""
    if "const" in schema:
        return f"add `{key}: {schema['const']}`"
    if "enum" in schema:
        return f"{key}: one of {', '.join(str(o) for o in schema['enum'])}"
    description = schema.get("description")
    return f"{key}: {first_sentence(description)}" if description else None


def _first_duplicate(items: Sequence[object]) -> object:
    seen: list[object] = []
    for item in items:
        if item in seen:
            return item
        seen.append(item)
    return None

