"""The Tencent COS state backend, through COS's S3-compatible API (boto3).

Objects, under the bucket's `prefix` (default `mtlsform`):

    <prefix>/<stack>/<workspace>.state.json        the document (the state file's bytes), with
                                                   its serial and lineage in object metadata
    <prefix>/<stack>/<workspace>.state.json.lock   the lock: the holder record as JSON

The lock is an atomic conditional create of the lock object: S3's `If-None-Match: *`, or on
COS itself the header COS documents for it, `x-cos-forbid-overwrite: true` (a second create
gets 412 or 409, and reads the holder from the object). Unlocking deletes the object after
checking it still holds this run's lock ID. A holder killed with -9 leaves its lock object
behind: the next run names it as a stale lock, and `force-unlock LOCK_ID` deletes it.

Each write is conditional on the ETag this run read or last wrote (`If-Match`), and a first
write on there being no object (`If-None-Match: *`), so a writer that bypassed the lock is
refused. COS documents forbid-overwrite only for buckets that never had versioning on, and its
PUT Object documentation does not list `If-Match`, so on a COS endpoint the store also checks
the lock and the ETag with a HEAD just before each create or write, and reads the lock back
after creating it.

`state history` lists the object's versions when bucket versioning is on (a HEAD of each
gives its serial and lineage); without versioning only the current object is kept.

Credentials come only from the environment or the SDK's usual places: the session passes the
Tencent key pair of the environment (the one the provider reads) as `credentials`; without it
boto3's own chain looks (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, its config files).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlparse

from mtlsform.errors import StateError, StateLockedError
from mtlsform.sensitive import Sensitive
from mtlsform.state.lock import LockInfo, new_holder
from mtlsform.state.statefile import StateEncoder
from mtlsform.state.store import DocumentStore, HistoryEntry, lost_update

DEFAULT_PREFIX = "mtlsform"
DEFAULT_REGION = "ap-guangzhou"
Dialect = Literal["cos", "s3"]
_FIRST_POLL, _MAX_POLL = 0.05, 2.0  # a waiting run costs the bucket one PUT a poll
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "FileAlreadyExists",
             "ObjectAlreadyExists", "412", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_SESSION: list[Any] = []  # one boto3 session per process: it loads the API model once
_SESSION_LOCK = threading.Lock()


def _boto3_session() -> Any:
    with _SESSION_LOCK:
        if not _SESSION:
            import boto3

            _SESSION.append(boto3.session.Session())
        return _SESSION[0]


def dialect_of(endpoint: str | None) -> Dialect:
    """COS itself (no endpoint, or a *.myqcloud.com one) or another S3-compatible server."""
    if endpoint is None:
        return "cos"
    host = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}").hostname or ""
    return "cos" if host == "myqcloud.com" or host.endswith(".myqcloud.com") else "s3"


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is(exc: Exception, codes: set[str]) -> bool:
    """Whether the error's code or HTTP status is one of `codes`."""
    response = getattr(exc, "response", None) or {}
    status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return _code(exc) in codes or status in codes


class CosStateStore(DocumentStore):
    """The state of one stack and workspace in a COS bucket; see the module's docstring."""

    def __init__(self, *, bucket: str, stack: str, workspace: str = "default",
                 prefix: str | None = None, region: str | None = None,
                 endpoint: str | None = None,
                 credentials: Mapping[str, Sensitive[str]] | None = None,
                 lock_timeout: float = 0.0, operation: str = "",
                 passphrase: Sensitive[str] | str | None = None,
                 on_wait: Callable[[str], None] | None = None,
                 dialect: Dialect | None = None) -> None:
        self.bucket = bucket
        self.stack = stack
        self.workspace = workspace
        self.prefix = (prefix or DEFAULT_PREFIX).strip("/")
        self.region = region or DEFAULT_REGION
        self.dialect: Dialect = dialect or dialect_of(endpoint)
        if endpoint and "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        self.endpoint = endpoint or f"https://cos.{self.region}.myqcloud.com"
        self.key = f"{self.prefix}/{stack}/{workspace}.state.json"
        self.lock_key = f"{self.key}.lock"
        self.location = f"cos://{bucket}/{self.key}"
        self._credentials = dict(credentials or {})  # boto3's names; empty: its own chain
        self._client: Any = None
        self._info: LockInfo | None = None
        self._etag: str | None = None
        super().__init__(lock_timeout=lock_timeout, operation=operation,
                         passphrase=passphrase, on_wait=on_wait)

    # ---- the client ----

    def client(self) -> Any:
        if self._client is None:
            try:
                from botocore.config import Config
            except ImportError:  # pragma: no cover - it is a dependency
                raise StateError("the cos backend needs boto3",
                                 hint="install mtlsform with its dependencies") from None
            config = Config(
                s3={"addressing_style": "virtual" if self.dialect == "cos" else "path"},
                signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=10, read_timeout=30)
            keys = {name: value.reveal() for name, value in self._credentials.items()}
            session = _boto3_session()
            with _SESSION_LOCK:  # making clients of one session is not thread-safe
                self._client = session.client(
                    "s3", endpoint_url=self.endpoint, region_name=self.region, config=config,
                    **keys)
        return self._client

    def _call(self, doing: str, method: str, **params: Any) -> Any:
        """One API call; an error that is not ours to interpret becomes one clear message."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return getattr(self.client(), method)(Bucket=self.bucket, **params)
        except ClientError:
            raise
        except NoCredentialsError:
            raise StateError(
                f"cannot {doing} {self.location}: no credentials were found",
                hint="set the Tencent Cloud key pair in the environment (as for the provider), "
                     "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; it never goes in the "
                     "stack file") from None
        except BotoCoreError as exc:
            raise StateError(f"cannot {doing} {self.location}: {exc}",
                             hint="check the backend's region and endpoint, and the network"
                             ) from None

    def _failed(self, doing: str, exc: Exception) -> StateError:
        response = getattr(exc, "response", None) or {}
        error = response.get("Error", {})
        reason = f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ")
        hint = None
        if _code(exc) in ("NoSuchBucket",):
            hint = f"create the bucket {self.bucket} (with versioning on, to keep a history)"
        elif _code(exc) in ("AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"):
            hint = "check the key pair in the environment and its permissions on the bucket"
        return StateError(f"cannot {doing} {self.location}: {reason or type(exc).__name__}",
                          hint=hint)

    def _head(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            extra = {"VersionId": version} if version else {}
            head: dict[str, Any] = self._call("read", "head_object", Key=key, **extra)
            return head
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._failed("read", exc) from None

    def _get(self, key: str, version: str | None = None) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        try:
            extra = {"VersionId": version} if version else {}
            got = self._call("read", "get_object", Key=key, **extra)
            return bytes(got["Body"].read()), str(got.get("ETag", ""))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._failed("read", exc) from None

    def _put(self, key: str, body: bytes, *, if_match: str | None = None,
             create: bool = False, metadata: Mapping[str, str] | None = None) -> str:
        """PUTs `body`; `create` only if there is no object, `if_match` only over that ETag.
        Raises botocore's ClientError for a refused condition, for the caller to read."""
        params: dict[str, Any] = {"Key": key, "Body": body,
                                  "ContentType": "application/json",
                                  "Metadata": dict(metadata or {})}
        if if_match is not None:
            params["IfMatch"] = if_match
        client = self.client()
        forbid = create and self.dialect == "cos"
        if create and self.dialect == "s3":
            params["IfNoneMatch"] = "*"
        if forbid:
            client.meta.events.register("before-sign.s3.PutObject", _forbid_overwrite)
        try:
            put = self._call("write", "put_object", **params)
        finally:
            if forbid:
                client.meta.events.unregister("before-sign.s3.PutObject", _forbid_overwrite)
        return str(put.get("ETag", ""))

    # ---- the lock ----

    def _acquire(self) -> LockInfo:
        from botocore.exceptions import ClientError

        if self._info is not None:
            raise RuntimeError("the state lock is already held by this store")
        info = new_holder(self.operation, self.location)
        deadline = time.monotonic() + max(self.lock_timeout, 0.0)
        poll, waited = _FIRST_POLL, False
        while True:
            try:
                if self.dialect == "cos" and self._head(self.lock_key) is not None:
                    raise _Taken
                self._put(self.lock_key, info.to_json().encode("utf-8"), create=True)
                if self.dialect == "cos" and self._lock_holder() != info:
                    raise _Taken  # overwritten at once: forbid-overwrite did not hold
                self._info = info
                return info
            except _Taken:
                pass
            except ClientError as exc:
                if not _is(exc, _CONFLICT):
                    raise self._failed("lock", exc) from None
            remaining = deadline - time.monotonic()
            if waited and remaining > 0:  # the holder is read for messages only
                time.sleep(min(poll, remaining))
                poll = min(poll * 2, _MAX_POLL)
                continue
            holder = self._lock_holder()
            text = holder.describe() if holder else "another run (no details readable)"
            if remaining <= 0:
                raise StateLockedError(
                    f"the state {self.location} is locked by {text}",
                    hint="wait for that run to finish, or pass --lock-timeout to wait for it; "
                         "a COS lock outlives a holder that was killed: if that run is gone, "
                         f"`mtlsform force-unlock {holder.id if holder else 'LOCK_ID'}` "
                         "removes it")
            if not waited and self._on_wait is not None:
                self._on_wait(text)
            waited = True
            time.sleep(min(poll, remaining))
            poll = min(poll * 2, _MAX_POLL)

    def _lock_holder(self) -> LockInfo | None:
        got = self._get(self.lock_key)
        return None if got is None else LockInfo.from_json(got[0].decode("utf-8", "replace"))

    def _release(self) -> None:
        info, self._info = self._info, None
        if info is None:
            return
        try:
            if self._lock_holder() == info:  # not taken over after a force-unlock
                self._call("unlock", "delete_object", Key=self.lock_key)
        except Exception:  # a lock left behind is shown as stale, not lost
            pass

    @property
    def lock_info(self) -> LockInfo | None:
        return self._info

    def holder(self) -> LockInfo | None:
        """Who holds the lock now (None: nobody)."""
        return self._info if self._info is not None else self._lock_holder()

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Deletes the lock object once it is the lock `lock_id`."""
        info = self._lock_holder()
        if info is None:
            raise StateError(f"the state {self.location} is not locked",
                             hint="there is no lock object to remove")
        if info.id != lock_id:
            raise StateError(
                f"the state {self.location} is locked by {info.describe()}, not with lock "
                f"ID {lock_id}", hint="pass the lock ID the lock message shows")
        self._call("unlock", "delete_object", Key=self.lock_key)
        return info

    # ---- the document ----

    def _fetch(self) -> bytes | None:
        got = self._get(self.key)
        return None if got is None else got[0]

    def _fetch_for_run(self) -> bytes | None:
        got = self._get(self.key)
        self._etag = None if got is None else got[1]
        return None if got is None else got[0]

    def _save(self, data: bytes, *, serial: int, lineage: str, expected: int | None,
              original: bytes | None, encoder: StateEncoder) -> None:
        from botocore.exceptions import ClientError

        info = self._info
        who = (f"{info.who} (pid {info.pid}) {info.operation}".strip() if info is not None
               else "a write without the lock")
        metadata = {"serial": str(serial), "lineage": lineage,
                    "written-by": who.encode("ascii", "replace").decode("ascii")}
        base = self._etag if expected is not None else None
        if self.dialect == "cos":
            head = self._head(self.key)
            now = None if head is None else str(head.get("ETag", ""))
            if now != base:
                raise lost_update(self.location, expected, self._serial_in_bucket())
        try:
            self._etag = self._put(self.key, data, if_match=base, create=base is None,
                                   metadata=metadata)
        except ClientError as exc:
            if _is(exc, _CONFLICT):
                raise lost_update(self.location, expected, self._serial_in_bucket()) from None
            raise self._failed("write the state to", exc) from None

    def _serial_in_bucket(self) -> int | None:
        head = self._head(self.key)
        if head is None:
            return None
        try:
            return int(head.get("Metadata", {}).get("serial", ""))
        except ValueError:
            return None

    # ---- history: the object's versions ----

    def _versions(self) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"Prefix": self.key}
        try:
            while True:
                page = self._call("list the versions of", "list_object_versions", **params)
                found += [v for v in page.get("Versions", []) if v.get("Key") == self.key]
                if not page.get("IsTruncated"):
                    return found
                params.update(KeyMarker=page.get("NextKeyMarker"),
                              VersionIdMarker=page.get("NextVersionIdMarker"))
        except ClientError as exc:
            raise self._failed("list the versions of", exc) from None

    def history(self) -> list[HistoryEntry]:
        """Every version of the state object (only the current one without versioning)."""
        entries = []
        for version in self._versions():
            ident = str(version.get("VersionId") or "null")
            head = self._head(self.key, None if ident == "null" else ident) or {}
            meta = head.get("Metadata", {})
            try:
                serial = int(meta.get("serial", ""))
            except ValueError:
                continue  # not written by mtlsform
            modified = version.get("LastModified")
            at = modified.strftime("%Y-%m-%dT%H:%M:%SZ") if modified is not None else ""
            entries.append(HistoryEntry(serial, str(meta.get("lineage", "")), at,
                                        str(meta.get("written-by", "")),
                                        bool(version.get("IsLatest")), ident))
        return entries  # the server lists them newest first

    def history_document(self, serial: int) -> bytes:
        for entry in self.history():
            if entry.serial == serial:
                got = self._get(self.key, None if entry.version == "null" else entry.version)
                if got is not None:
                    return got[0]
        raise StateError(f"{self.location} keeps no serial {serial}",
                         hint="`mtlsform state history` lists the serials it keeps (turn "
                              "bucket versioning on to keep every one)")


class _Taken(Exception):
    """The lock object is there already."""


def _forbid_overwrite(request: Any, **_: Any) -> None:
    """COS's documented header for a create that must not replace an object."""
    request.headers["x-cos-forbid-overwrite"] = "true"
