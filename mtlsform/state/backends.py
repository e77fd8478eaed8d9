"""Choosing the state store: the one place that knows which backends exist.

`BackendSettings` is the stack's `backend:` block as plain data (the session converts it; the
state package knows nothing of the stack language). `open_store` makes the `StateStore` for a
stack; everything else uses the store through the interface in `state/store.py`.

Credentials come only from the environment: the pg connection string from `PG_CONN_STR`
unless the block names another variable; the COS key pair from TENCENTCLOUD_SECRET_ID /
TENCENTCLOUD_SECRET_KEY (the session reads them, as the provider does), else boto3's usual
places.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state.cos import CosStateStore
from mtlsform.state.local import LocalStateStore
from mtlsform.state.pg import DEFAULT_SCHEMA, PgStateStore
from mtlsform.state.store import StateStore

PG_CONN_STR_ENV = "PG_CONN_STR"  # the name Terraform's pg backend reads
BackendKind = Literal["local", "pg", "cos"]


@dataclass(frozen=True)
class BackendSettings:
    kind: BackendKind = "local"
    conn_str_env: str | None = None
    schema_name: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    region: str | None = None
    endpoint: str | None = None

    path: str | None = None  # local only, from a spec: the state file (default beside the stack)
    credentials: Mapping[str, Sensitive[str]] = field(default_factory=dict)  # cos: boto3's names

    @property
    def remote(self) -> bool:
        return self.kind != "local"


def open_store(settings: BackendSettings, *, stack: str, local_path: Path,
               environ: Mapping[str, str], workspace: str = "default",
               lock_timeout: float = 0.0, operation: str = "",
               passphrase: Sensitive[str] | None = None,
               on_wait: Callable[[str], None] | None = None) -> StateStore:
    """The store of `stack` in the backend `settings` name (`local_path` for a local one)."""
    if settings.kind == "local":
        path = Path(settings.path) if settings.path else local_path
        return LocalStateStore(path, lock_timeout=lock_timeout, operation=operation,
                               passphrase=passphrase, on_wait=on_wait)
    if settings.kind == "pg":
        variable = settings.conn_str_env or PG_CONN_STR_ENV
        conn_str = environ.get(variable)
        if not conn_str:
            raise StateError(
                f"the stack keeps its state in PostgreSQL, but {variable} is not set",
                hint=f"set {variable} to the connection string, e.g. "
                     "postgres://USER@HOST/DB?sslmode=require (the password from PGPASSWORD "
                     "or ~/.pgpass); it never goes in the stack file")
        return PgStateStore(Sensitive(conn_str), stack=stack, workspace=workspace,
                            schema=settings.schema_name or DEFAULT_SCHEMA,
                            lock_timeout=lock_timeout, operation=operation,
                            passphrase=passphrase, on_wait=on_wait)
    if settings.kind == "cos":
        if not settings.bucket:
            raise StateError("the stack's cos backend names no bucket",
                             hint="add `bucket: NAME-APPID` to its backend block")
        if not settings.region:
            raise StateError("the stack's cos backend names no region, and the environment "
                             "names none",
                             hint="add `region: ap-guangzhou` (the bucket's region) to its "
                                  "backend block")
        return CosStateStore(bucket=settings.bucket, stack=stack, workspace=workspace,
                             prefix=settings.prefix, region=settings.region,
                             endpoint=settings.endpoint, credentials=settings.credentials,
                             lock_timeout=lock_timeout, operation=operation,
                             passphrase=passphrase, on_wait=on_wait)
    raise StateError(f"the {settings.kind} state backend is not available in this mtlsform",
                     hint="use kind: local, pg or cos")
