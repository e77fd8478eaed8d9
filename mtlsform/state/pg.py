"""The PostgreSQL state backend (psycopg 3).

Tables, in the stack's schema (default `mtlsform`), created on first use and versioned in
`meta`:

    states   one row per (stack, workspace): serial, lineage, the document (the state file's
             bytes as text), when and by whom it was last written
    history  every document ever written, with its serial, when and by whom
    locks    the holder record of the (stack, workspace) lock, with the server process (pid)
             of the session that holds it

The lock is a session-level advisory lock on (hash of the schema, hash of stack/workspace),
taken with `pg_try_advisory_lock` on a connection held for the whole run. The server releases
it the moment that session ends, so a holder killed with -9 leaves no lock behind. The holder
record is only a description: it is trusted only while its server pid still holds an advisory
lock. Each write runs in one transaction that locks the row (`SELECT ... FOR UPDATE`), checks
that the serial is the one this run read, and updates the row and the history together, so a
writer that bypassed the lock cannot lose an update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mtlsform.errors import StateError, StateLockedError
from mtlsform.sensitive import Sensitive
from mtlsform.state.lock import LockInfo, new_holder
from mtlsform.state.statefile import StateEncoder
from mtlsform.state.store import DocumentStore, HistoryEntry, lost_update

SCHEMA_VERSION = 1
DEFAULT_SCHEMA = "mtlsform"
_FIRST_POLL, _MAX_POLL = 0.05, 1.0

_TABLES = (
    """CREATE TABLE IF NOT EXISTS {s}.meta (
         name text PRIMARY KEY, value integer NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {s}.states (
         stack text NOT NULL, workspace text NOT NULL, serial bigint NOT NULL,
         lineage text NOT NULL, document text NOT NULL,
         written_at timestamptz NOT NULL DEFAULT now(), written_by text NOT NULL DEFAULT '',
         PRIMARY KEY (stack, workspace))""",
    """CREATE TABLE IF NOT EXISTS {s}.history (
         id bigserial PRIMARY KEY, stack text NOT NULL, workspace text NOT NULL,
         serial bigint NOT NULL, lineage text NOT NULL, document text NOT NULL,
         written_at timestamptz NOT NULL DEFAULT now(), written_by text NOT NULL DEFAULT '')""",
    """CREATE INDEX IF NOT EXISTS history_by_state ON {s}.history (stack, workspace, serial)""",
    """CREATE TABLE IF NOT EXISTS {s}.locks (
         stack text NOT NULL, workspace text NOT NULL, lock_id text NOT NULL,
         holder text NOT NULL, backend_pid integer NOT NULL,
         PRIMARY KEY (stack, workspace))""",
)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - it is a dependency
        raise StateError("the pg backend needs psycopg 3",
                         hint="install mtlsform with its dependencies") from None
    return psycopg


def _connect(conn_str: Sensitive[str], location: str) -> Any:
    psycopg = _psycopg()
    try:
        return psycopg.connect(conn_str.reveal(), autocommit=True, connect_timeout=10,
                               application_name="mtlsform")
    except psycopg.Error as exc:
        reason = _reason(exc, conn_str)
        raise StateError(f"cannot connect to the PostgreSQL state backend {location}: {reason}",
                         hint="check the connection string in the environment variable the "
                              "stack's backend block names (PG_CONN_STR by default)") from None


def _reason(exc: Exception, conn_str: Sensitive[str]) -> str:
    """The first line of a connection error, never showing the connection string: libpq
    quotes it when it cannot parse it, and a password is scrubbed from any other message."""
    psycopg = _psycopg()
    if isinstance(exc, psycopg.ProgrammingError):
        return "the connection string cannot be parsed (it is not shown: it may hold a password)"
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    try:
        password = psycopg.conninfo.conninfo_to_dict(conn_str.reveal()).get("password")
    except psycopg.Error:
        password = None
    return reason.replace(str(password), "***") if password else reason


class PgStateStore(DocumentStore):
    """The state of one stack and workspace in PostgreSQL; see the module's docstring."""

    def __init__(self, conn_str: Sensitive[str], *, stack: str, workspace: str = "default",
                 schema: str = DEFAULT_SCHEMA, lock_timeout: float = 0.0, operation: str = "",
                 passphrase: Sensitive[str] | str | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.conn_str = conn_str
        self.stack = stack
        self.workspace = workspace
        self.schema = schema
        self.location = f"pg:{schema}/{stack}" + (
            f"/{workspace}" if workspace != "default" else "")
        self._conn: Any = None
        self._info: LockInfo | None = None
        super().__init__(lock_timeout=lock_timeout, operation=operation,
                         passphrase=passphrase, on_wait=on_wait)

    # ---- connection and schema ----

    def _sql(self, text: str) -> Any:
        psycopg = _psycopg()
        return psycopg.sql.SQL(text).format(s=psycopg.sql.Identifier(self.schema))

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """The run's connection while entered, else one of its own for this call."""
        if self._conn is not None:
            yield self._conn
            return
        conn = _connect(self.conn_str, self.location)
        try:
            self._ensure_schema(conn)
            yield conn
        finally:
            conn.close()

    def _ensure_schema(self, conn: Any) -> None:
        psycopg = _psycopg()
        try:
            with conn.transaction():
                # One creator at a time: CREATE ... IF NOT EXISTS races with itself.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('mtlsform schema'))")
                conn.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {s}"))
                for statement in _TABLES:
                    conn.execute(self._sql(statement))
                row = conn.execute(self._sql("SELECT value FROM {s}.meta WHERE name = "
                                             "'schema_version'")).fetchone()
                if row is None:
                    conn.execute(self._sql("INSERT INTO {s}.meta VALUES ('schema_version', "
                                           "%s)"), (SCHEMA_VERSION,))
                elif row[0] > SCHEMA_VERSION:
                    raise StateError(
                        f"the PostgreSQL schema {self.schema!r} holds state tables of version "
                        f"{row[0]}; this mtlsform knows version {SCHEMA_VERSION}",
                        hint="use the newer mtlsform that created them")
        except psycopg.Error as exc:
            raise self._failed("prepare its tables in", exc) from None

    def _failed(self, doing: str, exc: Exception) -> StateError:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StateError(f"cannot {doing} the PostgreSQL state backend {self.location}: "
                          f"{reason}")

    # ---- the lock ----

    _KEY = "hashtext(%s), hashtext(%s)"

    def _keys(self) -> tuple[str, str]:
        return (self.schema, f"{self.stack}/{self.workspace}")

    def _acquire(self) -> LockInfo:
        if self._conn is not None:
            raise RuntimeError("the state lock is already held by this store")
        conn = _connect(self.conn_str, self.location)
        try:
            self._ensure_schema(conn)
            self._wait_for(conn)
            info = new_holder(self.operation, self.location)
            conn.execute(self._sql(
                "INSERT INTO {s}.locks VALUES (%s, %s, %s, %s, pg_backend_pid()) "
                "ON CONFLICT (stack, workspace) DO UPDATE SET lock_id = EXCLUDED.lock_id, "
                "holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid"),
                (self.stack, self.workspace, info.id, info.to_json()))
        except BaseException:
            conn.close()  # ends the session: the server releases a lock we may have taken
            raise
        self._conn, self._info = conn, info
        return info

    def _wait_for(self, conn: Any) -> None:
        deadline = time.monotonic() + max(self.lock_timeout, 0.0)
        poll, waited = _FIRST_POLL, False
        while True:
            row = conn.execute(f"SELECT pg_try_advisory_lock({self._KEY})",
                               self._keys()).fetchone()
            if row[0]:
                return
            remaining = deadline - time.monotonic()
            holder = self._holder_on(conn)
            text = holder.describe() if holder else "another session (no details written yet)"
            if remaining <= 0:
                raise StateLockedError(
                    f"the state {self.location} is locked by {text}",
                    hint="wait for that run to finish, or pass --lock-timeout to wait for it; "
                         "PostgreSQL releases the lock as soon as that session ends "
                         "(`mtlsform force-unlock LOCK_ID` ends a session that hangs)")
            if not waited and self._on_wait is not None:
                self._on_wait(text)
            waited = True
            time.sleep(min(poll, remaining))
            poll = min(poll * 2, _MAX_POLL)

    def _holder_row(self, conn: Any) -> tuple[LockInfo, int] | None:
        """The holder record and its server pid, if that session still holds its lock."""
        # The record counts only while its session holds this very advisory lock (the
        # two-key form shows the keys as classid and objid, objsubid 2).
        row = conn.execute(self._sql(
            "SELECT l.holder, l.backend_pid FROM {s}.locks l WHERE l.stack = %s AND "
            "l.workspace = %s AND EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = "
            "'advisory' AND p.granted AND p.pid = l.backend_pid AND p.objsubid = 2 AND "
            "p.classid = (hashtext(%s)::bigint & 4294967295)::oid AND "
            "p.objid = (hashtext(%s)::bigint & 4294967295)::oid)"),
            (self.stack, self.workspace, *self._keys())).fetchone()
        if row is None:
            return None
        info = LockInfo.from_json(row[0])
        return None if info is None else (info, int(row[1]))

    def _holder_on(self, conn: Any) -> LockInfo | None:
        found = self._holder_row(conn)
        return None if found is None else found[0]

    def _release(self) -> None:
        conn, self._conn, self._info = self._conn, None, None
        if conn is None:
            return
        try:
            conn.execute(self._sql("DELETE FROM {s}.locks WHERE stack = %s AND workspace = %s "
                                   "AND backend_pid = pg_backend_pid()"),
                         (self.stack, self.workspace))
            conn.execute(f"SELECT pg_advisory_unlock({self._KEY})", self._keys())
        except _psycopg().Error:
            pass  # closing the session below releases the lock all the same
        finally:
            conn.close()

    @property
    def lock_info(self) -> LockInfo | None:
        return self._info

    def holder(self) -> LockInfo | None:
        """Who holds the lock now (None: nobody)."""
        if self._info is not None:
            return self._info
        with self._connection() as conn:
            return self._holder_on(conn)

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Ends the session that holds the lock `lock_id` (the server then releases it)."""
        with self._connection() as conn:
            found = self._holder_row(conn)
            if found is None:
                raise StateError(f"the state {self.location} is not locked",
                                 hint="PostgreSQL released the lock when its session ended")
            info, pid = found
            if info.id != lock_id:
                raise StateError(
                    f"the state {self.location} is locked by {info.describe()}, not with lock "
                    f"ID {lock_id}", hint="pass the lock ID the lock message shows")
            try:
                done = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
            except _psycopg().Error as exc:
                raise self._failed("end the holder's session on", exc) from None
            if not done:
                raise StateError(f"PostgreSQL did not end the session (server pid {pid}) that "
                                 f"holds {self.location}",
                                 hint="ask the database administrator to end it")
            return info

    # ---- the document ----

    def _fetch(self) -> bytes | None:
        with self._connection() as conn:
            try:
                row = conn.execute(self._sql("SELECT document FROM {s}.states WHERE stack = %s "
                                             "AND workspace = %s"),
                                   (self.stack, self.workspace)).fetchone()
            except _psycopg().Error as exc:
                raise self._failed("read the state from", exc) from None
        return None if row is None else str(row[0]).encode("utf-8")

    def _save(self, data: bytes, *, serial: int, lineage: str, expected: int | None,
              original: bytes | None, encoder: StateEncoder) -> None:
        info = self._info
        who = (f"{info.who} (pid {info.pid}) {info.operation}".strip() if info is not None
               else "a write without the lock")
        text = data.decode("utf-8")
        psycopg = _psycopg()
        with self._connection() as conn:
            try:
                with conn.transaction():
                    row = conn.execute(self._sql(
                        "SELECT serial FROM {s}.states WHERE stack = %s AND workspace = %s "
                        "FOR UPDATE"), (self.stack, self.workspace)).fetchone()
                    found = None if row is None else int(row[0])
                    if found != expected:
                        raise lost_update(self.location, expected, found)
                    if row is None:
                        conn.execute(self._sql(
                            "INSERT INTO {s}.states (stack, workspace, serial, lineage, "
                            "document, written_by) VALUES (%s, %s, %s, %s, %s, %s)"),
                            (self.stack, self.workspace, serial, lineage, text, who))
                    else:
                        conn.execute(self._sql(
                            "UPDATE {s}.states SET serial = %s, lineage = %s, document = %s, "
                            "written_at = now(), written_by = %s WHERE stack = %s AND "
                            "workspace = %s"),
                            (serial, lineage, text, who, self.stack, self.workspace))
                    conn.execute(self._sql(
                        "INSERT INTO {s}.history (stack, workspace, serial, lineage, document, "
                        "written_by) VALUES (%s, %s, %s, %s, %s, %s)"),
                        (self.stack, self.workspace, serial, lineage, text, who))
            except psycopg.errors.UniqueViolation:  # a first write raced with ours
                raise lost_update(self.location, expected, None) from None
            except psycopg.Error as exc:
                raise self._failed("write the state to", exc) from None

    # ---- history ----

    def history(self) -> list[HistoryEntry]:
        with self._connection() as conn:
            current = conn.execute(self._sql(
                "SELECT serial FROM {s}.states WHERE stack = %s AND workspace = %s"),
                (self.stack, self.workspace)).fetchone()
            rows = conn.execute(self._sql(
                "SELECT serial, lineage, to_char(written_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), written_by, id FROM {s}.history "
                "WHERE stack = %s AND workspace = %s ORDER BY id DESC"),
                (self.stack, self.workspace)).fetchall()
        latest = rows[0][4] if rows else None
        return [HistoryEntry(int(serial), lineage, at, by,
                             current is not None and ident == latest, str(ident))
                for serial, lineage, at, by, ident in rows]

    def history_document(self, serial: int) -> bytes:
        with self._connection() as conn:
            row = conn.execute(self._sql(
                "SELECT document FROM {s}.history WHERE stack = %s AND workspace = %s AND "
                "serial = %s ORDER BY id DESC LIMIT 1"),
                (self.stack, self.workspace, serial)).fetchone()
        if row is None:
            raise StateError(f"{self.location} keeps no serial {serial}",
                             hint="`mtlsform state history` lists the serials it keeps")
        return str(row[0]).encode("utf-8")
