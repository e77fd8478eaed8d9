"""A backend named on the command line (`state migrate --to BACKEND`)."""

from __future__ import annotations

import re
from typing import cast

from mtlsform.errors import InputError
from mtlsform.stack.schemafile import stack_schema
from mtlsform.state.backends import BackendKind, BackendSettings

SPEC_KEYS = {"local": ("path",), "pg": ("conn_str_env", "schema_name"),
             "cos": ("bucket", "prefix", "region", "endpoint")}


def parse_backend_spec(text: str) -> BackendSettings:
    """A backend named on the command line: `KIND` alone takes the defaults, and
    `KIND:KEY=VALUE,KEY=VALUE` sets the keys of a `backend:` block of that kind (never
    credentials: those come from the environment, as for the block)."""
    kind, _, rest = text.partition(":")
    if kind not in SPEC_KEYS:
        raise InputError(f"{text!r} does not name a backend",
                         hint="use local, pg or cos, with settings after a colon, e.g. "
                              "pg:schema_name=ops or cos:bucket=tfstate-1250000000,"
                              "region=ap-guangzhou")
    values: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in SPEC_KEYS[kind]:
            raise InputError(
                f"{key!r} is not a setting of the {kind} backend" if eq
                else f"{item!r} is not KEY=VALUE",
                hint=f"the {kind} backend takes {', '.join(SPEC_KEYS[kind])}; credentials "
                     "come from the environment (PG_CONN_STR, TENCENTCLOUD_SECRET_ID/KEY), "
                     "never from the command line")
        if key != "path":
            pattern = stack_schema()["$defs"]["state_backend"]["properties"][key]["pattern"]
            if not re.match(pattern, value):
                raise InputError(f"{value!r} is not a valid {key} for the {kind} backend",
                                 hint=stack_schema()["$defs"]["state_backend"]["properties"]
                                 [key]["description"])
        values[key] = value
    if kind == "cos" and "bucket" not in values:
        raise InputError("a cos backend needs a bucket",
                         hint="e.g. --to cos:bucket=tfstate-1250000000,region=ap-guangzhou")
    return BackendSettings(kind=cast(BackendKind, kind), conn_str_env=values.get("conn_str_env"),
                           schema_name=values.get("schema_name"), bucket=values.get("bucket"),
                           prefix=values.get("prefix"), region=values.get("region"),
                           endpoint=values.get("endpoint"), path=values.get("path"))
