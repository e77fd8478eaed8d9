"""The JSON Schema: valid draft 2020-12, documented, closed, and every pattern has words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from jsonschema import Draft202012Validator

from mtlsform.stack.schemafile import inline_refs, schema_text, stack_schema, validator
from mtlsform.stack.values import PATTERNS
from tests.stack.conftest import REPO


def _schemas(node: object, where: str = "#") -> Iterator[tuple[str, dict]]:
    """Every subschema with its location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from _schemas(sub, f"{where}/{key}/{name}")
            elif key in ("items", "additionalProperties", "propertyNames"):
                yield from _schemas(value, f"{where}/{key}")
            elif key in ("anyOf", "oneOf", "allOf"):
                for i, sub in enumerate(value):
                    yield from _schemas(sub, f"{where}/{key}/{i}")


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = stack_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_repository_file_is_the_one_read() -> None:
    assert schema_text() == (REPO / "schemas" / "stack.schema.json").read_text(encoding="utf-8")


def test_every_property_has_a_description() -> None:
    missing = [
        f"{where}/properties/{name}"
        for where, schema in _schemas(stack_schema())
        for name, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


def test_every_map_item_has_a_description() -> None:
    missing = [where for where, schema in _schemas(stack_schema())
               if isinstance(schema.get("additionalProperties"), dict)
               and not schema["additionalProperties"].get("description")]
    assert missing == []


def test_every_object_is_closed() -> None:
    """Objects with fixed keys refuse others; maps of names constrain their keys."""
    problems = []
    for where, schema in _schemas(stack_schema()):
        types = schema.get("type")
        if types != "object" and not (isinstance(types, list) and "object" in types):
            continue
        if "properties" in schema and schema.get("additionalProperties") is not False:
            problems.append(f"{where}: additionalProperties must be false")
        if "properties" not in schema and "propertyNames" not in schema:
            problems.append(f"{where}: a map needs propertyNames")
    assert problems == []


def test_every_pattern_has_a_message() -> None:
    patterns = {schema["pattern"] for _, schema in _schemas(stack_schema()) if "pattern" in schema}
    assert patterns <= set(PATTERNS)


@pytest.mark.parametrize("stack", ["example", "sni", "imported"])
def test_inlined_schema_means_the_same(stack: str) -> None:
    import yaml

    data = yaml.safe_load((REPO / "stacks" / f"{stack}.yaml").read_text(encoding="utf-8"))
    data["listeners"]["https"]["port"] = "x"
    data["certificates"]["oops"] = {"type": "server", "bad": 1}
    plain = Draft202012Validator(stack_schema())
    messages = sorted(e.message for e in plain.iter_errors(data))
    assert messages == sorted(e.message for e in validator().iter_errors(data))
    assert len(messages) >= 2


def test_inlining_keeps_the_referring_description() -> None:
    root = {"$defs": {"n": {"type": "string", "description": "inner"}},
            "properties": {"a": {"$ref": "#/$defs/n", "description": "outer"}}}
    assert inline_refs(root, root) == {
        "properties": {"a": {"type": "string", "description": "outer"}}}


def test_enums_follow_the_cloud_api() -> None:
    defs = json.loads(schema_text())["$defs"]
    assert defs["rule"]["properties"]["scheduler"]["enum"] == ["WRR", "LEAST_CONN", "IP_HASH"]
    health = defs["health_check"]["properties"]
    assert (health["interval"]["minimum"], health["interval"]["maximum"]) == (2, 300)
    assert (health["timeout"]["minimum"], health["timeout"]["maximum"]) == (2, 60)
    assert health["healthy_threshold"]["maximum"] == 10
    assert defs["backend"]["properties"]["weight"]["maximum"] == 100
