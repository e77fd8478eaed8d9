"""The world file: the world as versioned JSON in the data directory, written atomically (0600).

`<data_dir>/world.json` = {"format_version": 1, "world": <WorldState as plain JSON>}. It holds the
private keys of uploaded certificates, hence mode 0600 and the redacted `public_view` for
anything that is shown.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any

from mtlsform.emulator import world as world_module
from mtlsform.emulator.errors import EmulatorError
from mtlsform.emulator.world import WorldState

FORMAT_VERSION = 1
FILE_NAME = "world.json"
REDACTED = "(redacted)"


class WorldFileError(EmulatorError):
    """The world file cannot be read or trusted."""


def encode(state: WorldState) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "world": _plain(state)}


def dumps(state: WorldState) -> str:
    """The file's text: `encode` as compact JSON, built by the C encoder in one pass."""
    return _compact({"format_version": FORMAT_VERSION, "world": state}) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=vars)


class WorldEncoder:
    """`dumps` for successive versions of one world, reusing the text of every certificate,
    instance, task, load balancer and listener object that the previous version shared: a
    committed version never changes, so an object's text stays right while it is the same
    object. A write then costs the encoding of the listener it touched, not of the world."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def dumps(self, state: WorldState) -> str:
        """Byte for byte what `dumps(state)` returns (`state` must be a committed version)."""
        fresh: dict[int, tuple[Any, str]] = {}

        def text(obj: Any, make: Any = _compact) -> str:
            hit = self._texts.get(id(obj))
            if hit is None or hit[0] is not obj:
                hit = (obj, make(obj))
            fresh[id(obj)] = hit  # holding the object keeps its id from being reused
            return hit[1]

        def mapping(items: Any, make: Any = _compact) -> str:
            return "{" + ",".join(f"{_compact(key)}:{text(value, make)}"
                                  for key, value in items) + "}"

        def load_balancer(lb: Any) -> str:
            fields = dict(vars(lb))
            listeners = fields.pop("listeners")  # the last field: its text goes at the end
            return _compact(fields)[:-1] + ',"listeners":' + mapping(listeners.items()) + "}"

        world = (f'{{"version":{_compact(state.version)}'
                 f',"instances":{mapping(state.instances.items())}'
                 f',"certificates":{mapping(state.certificates.items())}'
                 f',"load_balancers":{mapping(state.load_balancers.items(), load_balancer)}'
                 f',"tasks":{mapping(state.tasks.items())}'
                 f',"configs":{mapping(state.configs.items())}'
                 f',"delete_tasks":{mapping(state.delete_tasks.items())}}}')
        self._texts = fresh
        return f'{{"format_version":{FORMAT_VERSION},"world":{world}}}\n'


def _plain(value: Any) -> Any:
    """Dataclasses to plain JSON values (dataclasses.asdict is several times slower)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {key: _plain(item) for key, item in vars(value).items()}
    return value


def decode(data: Any) -> WorldState:
    if not isinstance(data, dict) or not isinstance(data.get("world"), dict):
        raise WorldFileError("not an emulator world file (no `world` object)")
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise WorldFileError(f"unknown format_version {version!r}")
    if version > FORMAT_VERSION:
        raise WorldFileError(
            f"format_version {version} is newer than this emulator reads ({FORMAT_VERSION})")
    try:
        state: WorldState = _build(WorldState, data["world"])
        return state
    except (TypeError, ValueError, KeyError) as exc:
        raise WorldFileError(f"inconsistent world file: {exc}") from exc


def _build(kind: Any, value: Any) -> Any:
    """Rebuilds a value of type `kind` (dataclass, list, dict, optional, scalar) from JSON."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _build(inner[0], value)
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(kind)
        return [_build(item, entry) for entry in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        _, item = typing.get_args(kind)
        return {str(key): _build(item, entry) for key, entry in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {kind.__name__}")
        hints = typing.get_type_hints(kind, vars(world_module))
        args = {f.name: _build(hints[f.name], value[f.name])
                for f in dataclasses.fields(kind) if f.name in value}
        return kind(**args)
    if kind is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if kind in (int, str, bool):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}, got {value!r}")
        return value
    if kind is typing.Any:
        return value
    raise TypeError(f"cannot rebuild {kind!r}")


def save(path: Path, state: WorldState) -> None:
    """Writes the world atomically: temporary file (0600), fsync, rename, fsync of the directory."""
    write_text(path, dumps(state))


def write_text(path: Path, text: str) -> None:
    """Writes the world file's text atomically (see `save`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(path: Path) -> WorldState | None:
    """The saved world, or None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorldFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorldFileError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    return decode(data)


def public_view(state: WorldState) -> dict[str, Any]:
    """The whole inventory as JSON, with every private key replaced by `(redacted)`."""
    data = encode(state)
    for cert in data["world"]["certificates"].values():
        if cert.get("private_key_pem"):
            cert["private_key_pem"] = REDACTED
    return data
