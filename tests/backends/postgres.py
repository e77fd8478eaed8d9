"""A real PostgreSQL server for the tests, from the Debian binaries.

`initdb` into a fresh directory and `pg_ctl start`, listening on a unix socket in that
directory only (no TCP port to collide with). PostgreSQL refuses to run as root, and CI runs
as root: then the server runs as the `postgres` system user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl (None: not installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


@dataclass
class Postgres:
    directory: Path
    conn_str: str
    _as_user: list[str]
    _bin: Path

    def stop(self) -> None:
        subprocess.run([*self._as_user, str(self._bin / "pg_ctl"), "stop", "-D",
                        str(self.directory / "data"), "-m", "immediate", "-w"],
                       capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> Postgres:
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("the PostgreSQL server binaries are not installed "
                           "(/usr/lib/postgresql/*/bin): apt-get install postgresql "
                           "(.ci/run does)")
    directory = Path(tempfile.mkdtemp(prefix="mtlsform-pg-"))  # /tmp: reachable by postgres
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = directory / "data"
    run = {"capture_output": True, "text": True, "timeout": 120}
    done = subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust",
                           "-U", "postgres", "-E", "UTF8", "--no-sync"], **run)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr}")
    options = f"-k {directory} -c listen_addresses='' -c fsync=off -c max_connections=60"
    done = subprocess.run([*as_user, str(binaries / "pg_ctl"), "start", "-w", "-D", str(data),
                           "-l", str(directory / "server.log"), "-o", options], **run)  # type: ignore[call-overload]
    if done.returncode != 0:
        log = (directory / "server.log").read_text(errors="replace") \
            if (directory / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{log}")
    return Postgres(directory, f"host={directory} dbname=postgres user=postgres", as_user,
                    binaries)
