"""Checks a raw JSON answer against the SDK's response model: every field present, no unknown
field, each value of the type the model's docstring declares (or null)."""

from __future__ import annotations

import importlib
import re
from typing import Any

_TYPE = re.compile(r":param _(\w+):.*?\n\s*:type \1: (.*?)\n", re.S)


def fields(model: type) -> dict[str, str]:
    """Field name -> declared type text, from the model's __init__ docstring."""
    return {m.group(1): m.group(2).strip() for m in _TYPE.finditer(model.__init__.__doc__ or "")}


def _model(module: Any, text: str) -> type | None:
    match = re.search(r"models\.(\w+)`", text)
    if match:
        return getattr(module, match.group(1))
    name = text.removeprefix("list of ").strip()
    return getattr(module, name, None) if name[:1].isupper() else None


def check(module: Any, model: type, data: Any, path: str = "") -> list[str]:
    """Problems found (empty when the data fits the model)."""
    if not isinstance(data, dict):
        return [f"{path or '<root>'}: expected an object, got {type(data).__name__}"]
    declared = fields(model)
    problems = [f"{path}{name}: not in {model.__name__}" for name in data
                if name not in declared]
    problems += [f"{path}{name}: missing" for name in declared if name not in data]
    for name, text in declared.items():
        if name in data and data[name] is not None:
            problems += _value(module, text, data[name], f"{path}{name}")
    return problems


def _value(module: Any, text: str, value: Any, path: str) -> list[str]:
    if text.startswith("list of"):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        item = text.removeprefix("list of ").split()[0]
        out = []
        for index, entry in enumerate(value):
            out += _value(module, item if item in ("str", "int", "bool", "float")
                          else f"list-item {text}", entry, f"{path}.{index}")
        return out
    if text.startswith("list-item"):
        sub = _model(module, text.removeprefix("list-item "))
        return check(module, sub, value, path + ".") if sub else []
    kinds = {"str": str, "int": int, "bool": bool, "float": (int, float)}
    if text in kinds:
        kind = kinds[text]
        if isinstance(value, bool) and text != "bool":
            return [f"{path}: expected {text}, got bool"]
        return [] if isinstance(value, kind) else [
            f"{path}: expected {text}, got {type(value).__name__} {value!r}"[:200]]
    sub = _model(module, text)
    if sub is not None:
        return check(module, sub, value, path + ".")
    return [f"{path}: cannot check declared type {text!r}"]


def response_problems(service: str, action: str, response: dict[str, Any]) -> list[str]:
    module = importlib.import_module(
        "tencentcloud.clb.v20180317.models" if service == "clb"
        else "tencentcloud.ssl.v20191205.models")
    model = getattr(module, action + "Response")
    return check(module, model, response["Response"])
