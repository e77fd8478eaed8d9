"""HolderRecord: what a running emulator writes into its data directory's lock file.

The lock (fcntl, on `<data dir>/.lock`) says *that* a process holds the world; the record in
the file says *who*: its pid, where its API listens, the SecretId it checks (never the key),
whether it is a long-running `mtlsform emulator serve` other runs may share, and where its
data plane listens. Other processes read it to share that emulator or to say who is in the way.

    record.to_json()                       -> a JSON object (dict)
    HolderRecord.from_json(value, source)  -> HolderRecord, or HolderRecordError naming source
    HolderRecord.parse(data, source)       -> the same from the file's bytes (None when empty)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlsform.emulator.errors import HolderRecordError

FORMAT_VERSION = 1
LOCK_FILE_NAME = ".lock"


@dataclass(frozen=True)
class HolderRecord:
    """Who holds an emulator world (see the module docstring); JSON-compatible values only."""

    pid: int
    url: str  # http://127.0.0.1:9000
    endpoint: str  # 127.0.0.1:9000, as the SDK's HttpProfile wants it
    scheme: str  # http | https
    secret_id: str
    default_key: bool  # it checks the documented default SecretKey (and no session token)
    task_delay: float
    ca_file: str | None = None  # the CA of its --tls certificate
    serve: bool = False  # a long-running `mtlsform emulator serve`: other runs may share it
    data_plane_port_offset: int | None = None  # its data plane runs, at port + this offset

    @property
    def shareable(self) -> bool:
        """Whether another run may send its calls here with the default key over plain HTTP
        (never another run's embedded emulator: it stops when that run ends)."""
        return self.serve and self.scheme == "http" and self.default_key

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "format_version": FORMAT_VERSION, "pid": self.pid, "url": self.url,
            "endpoint": self.endpoint, "scheme": self.scheme, "secret_id": self.secret_id,
            "default_key": self.default_key, "task_delay": self.task_delay,
            "ca_file": self.ca_file, "serve": self.serve,
        }
        if self.data_plane_port_offset is not None:
            value["data_plane"] = {"port_offset": self.data_plane_port_offset}
        return value

    @classmethod
    def from_json(cls, value: Any, source: Path | str) -> HolderRecord:
        """The record in a JSON value read from `source`; HolderRecordError when damaged."""
        if not isinstance(value, dict):
            raise HolderRecordError(source, "expected a JSON object")
        version = value.get("format_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise HolderRecordError(source, f"format_version {version!r} is not a version")
        if version > FORMAT_VERSION:
            raise HolderRecordError(source, f"format_version {version} is newer than this "
                                    f"mtlsform reads ({FORMAT_VERSION})")
        plane = value.get("data_plane")
        if plane is not None and not isinstance(plane, dict):
            raise HolderRecordError(source, "data_plane: expected a JSON object")
        return cls(
            pid=_field(value, "pid", int, source),
            url=_field(value, "url", str, source),
            endpoint=_field(value, "endpoint", str, source),
            scheme=_field(value, "scheme", str, source),
            secret_id=_field(value, "secret_id", str, source),
            default_key=_field(value, "default_key", bool, source),
            task_delay=float(_field(value, "task_delay", (int, float), source)),
            ca_file=_optional(value, "ca_file", str, source),
            serve=bool(_optional(value, "serve", bool, source)),
            data_plane_port_offset=None if plane is None
            else _field(plane, "port_offset", int, source, "data_plane.port_offset"),
        )

    @classmethod
    def parse(cls, data: bytes | str, source: Path | str) -> HolderRecord | None:
        """The record in a lock file's content; None when it is empty (nobody has written
        one yet); HolderRecordError naming `source` when it is damaged."""
        if not data.strip():
            return None
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HolderRecordError(source, f"not JSON ({exc})") from None
        return cls.from_json(value, source)

    def dumps(self) -> bytes:
        """The bytes written into the lock file."""
        return json.dumps(self.to_json(), sort_keys=True).encode()


def lock_file(data_dir: Path) -> Path:
    """Where a data directory's lock (and the holder record in it) lives."""
    return Path(data_dir) / LOCK_FILE_NAME


def _field(value: dict[str, Any], key: str, kind: type | tuple[type, ...], source: Path | str,
           name: str | None = None) -> Any:
    if key not in value:
        raise HolderRecordError(source, f"{name or key} is missing")
    found = value[key]
    # bool is an int in Python; in a record a pid of `true` is damage, not 1.
    if not isinstance(found, kind) or (isinstance(found, bool) and kind is not bool):
        raise HolderRecordError(source, f"{name or key}: unexpected value {found!r}")
    return found


def _optional(value: dict[str, Any], key: str, kind: type, source: Path | str) -> Any:
    return None if value.get(key) is None else _field(value, key, kind, source)
