"""The MTLSFORM_EMULATOR_* environment variables: each name, defined once, and typed reads.

`EmulatorConfig.from_env` reads them (see config.py) through `EnvReader`; the provider and the
CLI refer to them through these constants, never by spelling a name again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from mtlsform.emulator.errors import EmulatorConfigError

ENV_PREFIX = "MTLSFORM_EMULATOR_"

DATA_DIR = "MTLSFORM_EMULATOR_DATA_DIR"
HOST = "MTLSFORM_EMULATOR_HOST"
PORT = "MTLSFORM_EMULATOR_PORT"
TLS = "MTLSFORM_EMULATOR_TLS"
SECRET_ID = "MTLSFORM_EMULATOR_SECRET_ID"
SECRET_KEY = "MTLSFORM_EMULATOR_SECRET_KEY"
SESSION_TOKEN = "MTLSFORM_EMULATOR_SESSION_TOKEN"
TASK_DELAY = "MTLSFORM_EMULATOR_TASK_DELAY"
RATE_LIMIT = "MTLSFORM_EMULATOR_RATE_LIMIT"
FAULTS = "MTLSFORM_EMULATOR_FAULTS"
LATENCY = "MTLSFORM_EMULATOR_LATENCY"
TASK_FAILURES = "MTLSFORM_EMULATOR_TASK_FAILURES"
CRASH_AFTER = "MTLSFORM_EMULATOR_CRASH_AFTER"
CRASH_BEFORE_APPLY = "MTLSFORM_EMULATOR_CRASH_BEFORE_APPLY"
FAIL_CALL = "MTLSFORM_EMULATOR_FAIL_CALL"
CALL_LOG = "MTLSFORM_EMULATOR_CALL_LOG"
SEED = "MTLSFORM_EMULATOR_SEED"
INSTANCES = "MTLSFORM_EMULATOR_INSTANCES"
# `1`: the data plane of `emulator serve --data-plane` serves the world as it was when it
# started and follows none of its changes (a data plane lagging behind the API); so does the
# one the embedded emulator starts for apply's rotation check (the world as the run found it).
DATA_PLANE_FROZEN = "MTLSFORM_EMULATOR_DATA_PLANE_FROZEN"

ALL = (DATA_DIR, HOST, PORT, TLS, SECRET_ID, SECRET_KEY, SESSION_TOKEN, TASK_DELAY, RATE_LIMIT,
       FAULTS, LATENCY, TASK_FAILURES, CRASH_AFTER, CRASH_BEFORE_APPLY, FAIL_CALL, CALL_LOG, SEED,
       INSTANCES, DATA_PLANE_FROZEN)


T = TypeVar("T", int, float, str)


def data_plane_frozen(environ: Mapping[str, str]) -> bool:
    """Whether DATA_PLANE_FROZEN asks for a data plane that follows no change."""
    return environ.get(DATA_PLANE_FROZEN, "") not in ("", "0")


class EnvReader:
    """Reads variables from one environment; an empty value counts as not set."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        raw = self._environ.get(name)
        return raw if raw not in (None, "") else None

    def number(self, name: str, kind: type[T]) -> T | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return kind(raw)
        except ValueError:
            raise EmulatorConfigError(f"{name}={raw!r} is not a {kind.__name__}") from None
