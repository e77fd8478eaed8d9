"""EmulatorConfig and FaultConfig: how an emulator runs, from code, flags or MTLSFORM_EMULATOR_*.

Fault specs (the same text in flags and environment variables):
  error        ACTION:CODE:RATE     e.g. RegisterTargets:FailedOperation.ResourceInOperating:0.3,
                                    *:RequestLimitExceeded:0.3   (ACTION `*` = every action)
  latency      [ACTION:]SECONDS     e.g. 0.05 or CreateListener:0.5
  task failure [ACTION:]RATE        e.g. 0.2 or RegisterTargets:1
Instances: `ID=NAME[@IP]` or a JSON file: [{"InstanceId": "ins-web3", "InstanceName": "web-3",
"PrivateIpAddress": "127.32.0.10"}, ...] (the IP is optional: one is allocated in 127.32.0.0/16).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mtlsform.sensitive import Sensitive

DEFAULT_SECRET_ID = "AKIDmtlsformEmulator0000"
DEFAULT_SECRET_KEY = "mtlsform-emulator-secret-key"
ENV_PREFIX = "MTLSFORM_EMULATOR_"
_ACTION = r"(\*|[A-Z][A-Za-z0-9]*)"
_INSTANCE_ID = re.compile(r"ins-[a-z0-9]{1,32}")


class EmulatorConfigError(ValueError):
    """A flag, environment variable or instances file the emulator cannot use."""


class DataDirectoryBusy(EmulatorConfigError):
    """Another emulator serves this data directory; `holder` is what it wrote about itself
    (pid, url, SecretId, whether it uses the default key, task delay, CA file), or {}."""

    def __init__(self, message: str, holder: dict) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class FaultRule:
    action: str  # an action name or "*"
    code: str
    rate: float


@dataclass(frozen=True)
class FaultConfig:
    errors: tuple[FaultRule, ...] = ()
    latency: tuple[tuple[str, float], ...] = ()
    task_failures: tuple[tuple[str, float], ...] = ()
    crash_after: int | None = None
    crash_before_apply: bool = False
    seed: int | None = None


@dataclass(frozen=True)
class InstanceSpec:
    instance_id: str
    name: str
    private_ip: str | None = None


DEMO_INSTANCES = (InstanceSpec("ins-rs1", "rs-1"), InstanceSpec("ins-rs2", "rs-2"))


@dataclass(frozen=True)
class EmulatorConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    secret_id: str = DEFAULT_SECRET_ID
    secret_key: Sensitive[str] | str = field(default=DEFAULT_SECRET_KEY, repr=False)
    session_token: Sensitive[str] | str | None = field(default=None, repr=False)
    task_delay: float = 0.2
    rate_limit: float | None = 20.0
    tls: bool = False
    faults: FaultConfig = FaultConfig()
    instances: tuple[InstanceSpec, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        for name in ("secret_key", "session_token"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Sensitive(value))
        if not self.secret_id or self.secret_id != self.secret_id.strip():
            raise EmulatorConfigError("the SecretId must be non-empty, without spaces around it")
        if not self.key():
            raise EmulatorConfigError("the SecretKey must not be empty")
        if self.task_delay < 0:
            raise EmulatorConfigError("the task delay must be 0 or more seconds")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise EmulatorConfigError("the rate limit must be above 0 (or off)")

    def key(self) -> str:
        secret = self.secret_key
        return secret.reveal() if isinstance(secret, Sensitive) else secret

    def token(self) -> str | None:
        token = self.session_token
        return token.reveal() if isinstance(token, Sensitive) else token

    @property
    def uses_default_key(self) -> bool:
        return self.key() == DEFAULT_SECRET_KEY

    def all_instances(self) -> tuple[InstanceSpec, ...]:
        """The demo instances, then the declared ones (a declared ID overrides a demo one)."""
        declared = {spec.instance_id: spec for spec in self.instances}
        demo = tuple(declared.pop(s.instance_id, s) for s in DEMO_INSTANCES)
        return demo + tuple(declared.values())

    @classmethod
    def from_env(cls, data_dir: Path | str | None = None, *,
                 environ: Mapping[str, str] | None = None, **overrides: Any) -> EmulatorConfig:
        """Defaults, then MTLSFORM_EMULATOR_* variables, then explicit keyword overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}

        def get(name: str) -> str | None:
            raw = env.get(ENV_PREFIX + name)
            return raw if raw not in (None, "") else None

        def number(name: str, kind: type) -> Any:
            raw = get(name)
            if raw is None:
                return None
            try:
                return kind(raw)
            except ValueError:
                raise EmulatorConfigError(
                    f"{ENV_PREFIX}{name}={raw!r} is not a {kind.__name__}") from None

        for name, key, kind in (("HOST", "host", str), ("SECRET_ID", "secret_id", str),
                                ("SECRET_KEY", "secret_key", str),
                                ("SESSION_TOKEN", "session_token", str),
                                ("PORT", "port", int), ("TASK_DELAY", "task_delay", float)):
            value = number(name, kind)
            if value is not None:
                values[key] = value
        if get("RATE_LIMIT") is not None:
            values["rate_limit"] = parse_rate_limit(get("RATE_LIMIT") or "")
        if get("TLS") is not None:
            values["tls"] = parse_bool(ENV_PREFIX + "TLS", get("TLS") or "")
        values["faults"] = FaultConfig(
            errors=tuple(parse_fault(s) for s in split_specs(get("FAULTS"))),
            latency=tuple(parse_latency(s) for s in split_specs(get("LATENCY"))),
            task_failures=tuple(parse_task_failure(s) for s in split_specs(get("TASK_FAILURES"))),
            crash_after=number("CRASH_AFTER", int),
            crash_before_apply=parse_bool(ENV_PREFIX + "CRASH_BEFORE_APPLY",
                                          get("CRASH_BEFORE_APPLY") or "0"),
            seed=number("SEED", int),
        )
        if get("INSTANCES") is not None:
            values["instances"] = load_instances_file(Path(get("INSTANCES") or ""))
        values.update(overrides)
        chosen = values.pop("data_dir", None) or data_dir or get("DATA_DIR")
        if chosen is None:
            raise EmulatorConfigError(
                f"no data directory: pass one or set {ENV_PREFIX}DATA_DIR")
        return cls(data_dir=Path(chosen), **values)

    def with_changes(self, **changes: Any) -> EmulatorConfig:
        return replace(self, **changes)


def split_specs(text: str | None) -> list[str]:
    return [part for part in re.split(r"[,\s;]+", text or "") if part]


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise EmulatorConfigError(f"{name}={text!r}: expected 1/0, true/false, yes/no or on/off")


def parse_rate_limit(text: str) -> float | None:
    if text.strip().lower() in ("off", "none", "0", "unlimited"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise EmulatorConfigError(
            f"rate limit {text!r}: expected requests per second per action, or `off`") from None
    if value <= 0:
        raise EmulatorConfigError(f"rate limit {text!r} must be above 0 (or `off`)")
    return value


def _rate(spec: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise EmulatorConfigError(f"{spec!r}: the rate must be a number from 0 to 1")
    return value


def parse_fault(spec: str) -> FaultRule:
    match = re.fullmatch(_ACTION + r":([A-Za-z][A-Za-z0-9.]*):([0-9.]+)", spec.strip())
    if not match:
        raise EmulatorConfigError(
            f"fault {spec!r}: expected ACTION:CODE:RATE, e.g. "
            "RegisterTargets:FailedOperation.ResourceInOperating:0.3 or *:RequestLimitExceeded:0.3")
    action, code, rate = match.groups()
    return FaultRule(action, code, _rate(spec, rate))


def parse_latency(spec: str) -> tuple[str, float]:
    match = re.fullmatch(r"(?:" + _ACTION + r":)?([0-9.]+)", spec.strip())
    if not match:
        raise EmulatorConfigError(f"latency {spec!r}: expected [ACTION:]SECONDS, e.g. 0.05")
    try:
        seconds = float(match.group(2))
    except ValueError:
        raise EmulatorConfigError(f"latency {spec!r}: SECONDS is not a number") from None
    return (match.group(1) or "*", seconds)


def parse_task_failure(spec: str) -> tuple[str, float]:
    match = re.fullmatch(r"(?:" + _ACTION + r":)?([0-9.]+)", spec.strip())
    if not match:
        raise EmulatorConfigError(f"task failure {spec!r}: expected [ACTION:]RATE, e.g. 0.2")
    return (match.group(1) or "*", _rate(spec, match.group(2)))


def _instance(instance_id: Any, name: Any, ip: Any, where: str) -> InstanceSpec:
    if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
        raise EmulatorConfigError(f"{where}: instance ID {instance_id!r} must look like ins-xxxx "
                                  "(lower-case letters and digits)")
    if not isinstance(name, str) or not 1 <= len(name) <= 60:
        raise EmulatorConfigError(f"{where}: instance name must be 1 to 60 characters")
    if ip is not None:
        try:
            ipaddress.IPv4Address(ip)
        except (ValueError, TypeError):
            raise EmulatorConfigError(f"{where}: {ip!r} is not an IPv4 address") from None
    return InstanceSpec(instance_id, name, ip)


def parse_instance(spec: str) -> InstanceSpec:
    match = re.fullmatch(r"([^=@]+)=([^@]+)(?:@(.+))?", spec.strip())
    if not match:
        raise EmulatorConfigError(f"instance {spec!r}: expected ID=NAME[@IP], e.g. ins-web3=web-3")
    return _instance(match.group(1), match.group(2), match.group(3), f"instance {spec!r}")


def load_instances_file(path: Path) -> tuple[InstanceSpec, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EmulatorConfigError(f"{path}: cannot read the instances file: {exc.strerror}") \
            from None
    except json.JSONDecodeError as exc:
        raise EmulatorConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") \
            from None
    if isinstance(data, dict):
        data = data.get("instances", data.get("InstanceSet"))
    if not isinstance(data, list):
        raise EmulatorConfigError(f"{path}: expected a JSON list of instances "
                                  '([{"InstanceId": ..., "InstanceName": ...}])')
    specs = []
    for index, item in enumerate(data):
        where = f"{path}: instance {index}"
        if not isinstance(item, dict):
            raise EmulatorConfigError(f"{where}: expected an object")
        unknown = set(item) - {"InstanceId", "InstanceName", "PrivateIpAddress"}
        if unknown:
            raise EmulatorConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (expected "
                                      "InstanceId, InstanceName, PrivateIpAddress)")
        specs.append(_instance(item.get("InstanceId"), item.get("InstanceName"),
                               item.get("PrivateIpAddress"), where))
    return tuple(specs)
