"""EmulatorConfig and FaultConfig: how an emulator runs, from code, flags or MTLSFORM_EMULATOR_*.

Fault specs (the same text in flags and environment variables):
  error        ACTION:CODE:RATE     e.g. RegisterTargets:FailedOperation.ResourceInOperating:0.3,
                                    *:RequestLimitExceeded:0.3   (ACTION `*` = every action)
  latency      [ACTION:]SECONDS     e.g. 0.05 or CreateListener:0.5
  task failure [ACTION:]RATE        e.g. 0.2 or RegisterTargets:1
  failed call  N[:CODE]             e.g. 3 or 3:InternalError: the Nth mutating call is refused,
                                    once, without landing (CODE defaults to InternalError)
The call log (a file path) gets one line per mutating call that lands: `N ACTION`.
Instances: `ID=NAME[@IP]` or a JSON file: [{"InstanceId": "ins-web3", "InstanceName": "web-3",
"PrivateIpAddress": "127.32.0.10"}, ...] (the IP is optional: one is allocated in 127.32.0.0/16).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mtlsform.emulator import environment as env_names
from mtlsform.emulator.errors import EmulatorConfigError
from mtlsform.sensitive import Sensitive

__all__ = [
    "DEFAULT_SECRET_ID", "DEFAULT_SECRET_KEY", "DEMO_INSTANCES", "EmulatorConfig",
    "EmulatorConfigError", "FaultConfig", "FaultRule", "InstanceSpec", "load_instances_file",
    "parse_bool", "parse_fail_call", "parse_fault", "parse_instance", "parse_latency",
    "parse_rate_limit", "parse_task_failure", "split_specs",
]

DEFAULT_SECRET_ID = "AKIDmtlsformEmulator0000"
DEFAULT_SECRET_KEY = "mtlsform-emulator-secret-key"
_ACTION = r"(\*|[A-Z][A-Za-z0-9]*)"
_INSTANCE_ID = re.compile(r"ins-[a-z0-9]{1,32}")


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
    fail_call: int | None = None  # the Nth mutating call is refused once with fail_code
    fail_code: str = "InternalError"
    call_log: Path | None = None  # one line per mutating call that lands
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
                 environ: Mapping[str, str] | None = None,
                 defaults: Mapping[str, Any] | None = None,
                 host: str | None = None, port: int | None = None, tls: bool | None = None,
                 task_delay: float | None = None, rate_limit: float | str | None = None,
                 secret_id: str | None = None, secret_key: str | None = None,
                 session_token: str | None = None,
                 faults: Sequence[str] = (), latency: Sequence[str] = (),
                 task_failures: Sequence[str] = (), crash_after: int | None = None,
                 crash_before_apply: bool | None = None, seed: int | None = None,
                 instances: Sequence[str | InstanceSpec] = (),
                 instances_file: Path | None = None) -> EmulatorConfig:
        """The configuration from, lowest first: the field defaults, `defaults` (e.g. the port
        of `serve`), the MTLSFORM_EMULATOR_* variables of `environ` (default os.environ), then
        the flags given here (None or empty: not given). Flags take the same spec text as the
        variables (module docstring); `instances_file` comes before `instances`. Bad values
        raise EmulatorConfigError naming the flag or variable."""
        read = env_names.EnvReader(os.environ if environ is None else environ)
        values: dict[str, Any] = dict(defaults or {})
        chosen_dir = data_dir or read.text(env_names.DATA_DIR) or values.pop("data_dir", None)
        values.pop("data_dir", None)
        if chosen_dir is None:
            raise EmulatorConfigError(
                f"no data directory: pass one or set {env_names.DATA_DIR}")
        read_values: dict[str, object] = {
            "host": read.text(env_names.HOST), "secret_id": read.text(env_names.SECRET_ID),
            "secret_key": read.text(env_names.SECRET_KEY),
            "session_token": read.text(env_names.SESSION_TOKEN),
            "port": read.number(env_names.PORT, int),
            "task_delay": read.number(env_names.TASK_DELAY, float)}
        values.update({key: value for key, value in read_values.items() if value is not None})
        if read.text(env_names.RATE_LIMIT) is not None:
            values["rate_limit"] = parse_rate_limit(read.text(env_names.RATE_LIMIT) or "")
        if read.text(env_names.TLS) is not None:
            values["tls"] = parse_bool(env_names.TLS, read.text(env_names.TLS) or "")
        given = {"host": host, "port": port, "tls": tls, "task_delay": task_delay,
                 "secret_id": secret_id, "secret_key": secret_key,
                 "session_token": session_token, "rate_limit": rate_limit}
        values.update({key: value for key, value in given.items() if value is not None})
        if isinstance(rate_limit, str):  # `off` gives None: given, and no limit
            values["rate_limit"] = parse_rate_limit(rate_limit)
        values["faults"] = FaultConfig(
            errors=tuple(parse_fault(s) for s in faults)
            or tuple(parse_fault(s) for s in split_specs(read.text(env_names.FAULTS))),
            latency=tuple(parse_latency(s) for s in latency)
            or tuple(parse_latency(s) for s in split_specs(read.text(env_names.LATENCY))),
            task_failures=tuple(parse_task_failure(s) for s in task_failures)
            or tuple(parse_task_failure(s)
                     for s in split_specs(read.text(env_names.TASK_FAILURES))),
            crash_after=crash_after if crash_after is not None
            else read.number(env_names.CRASH_AFTER, int),
            crash_before_apply=crash_before_apply if crash_before_apply is not None
            else parse_bool(env_names.CRASH_BEFORE_APPLY,
                            read.text(env_names.CRASH_BEFORE_APPLY) or "0"),
            seed=seed if seed is not None else read.number(env_names.SEED, int),
            **_call_faults(read),
        )
        declared = (load_instances_file(instances_file) if instances_file is not None else ()) \
            + tuple(s if isinstance(s, InstanceSpec) else parse_instance(s) for s in instances)
        if declared:
            values["instances"] = declared
        elif read.text(env_names.INSTANCES) is not None:
            values["instances"] = load_instances_file(Path(read.text(env_names.INSTANCES) or ""))
        return cls(data_dir=Path(chosen_dir), **values)

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


def parse_fail_call(spec: str) -> tuple[int, str]:
    """`N[:CODE]`: the Nth mutating call (from 1) is refused once with CODE (InternalError)."""
    match = re.fullmatch(r"([0-9]+)(?::([A-Za-z][A-Za-z0-9.]*))?", spec.strip())
    if not match or int(match.group(1)) < 1:
        raise EmulatorConfigError(
            f"failed call {spec!r}: expected N[:CODE] with N from 1, e.g. 3 or 3:InternalError")
    return int(match.group(1)), match.group(2) or "InternalError"


def _call_faults(read: env_names.EnvReader) -> dict[str, Any]:
    """The failed call and the call log, from their variables (no flags: tests set them)."""
    values: dict[str, Any] = {}
    fail = read.text(env_names.FAIL_CALL)
    if fail is not None:
        values["fail_call"], values["fail_code"] = parse_fail_call(fail)
    log = read.text(env_names.CALL_LOG)
    if log is not None:
        values["call_log"] = Path(log)
    return values


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
