"""What this process still holds: its listening TCP sockets and its data-plane threads (to
check that something which started a data plane left nothing behind). Linux only (/proc)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

LISTEN = "0A"  # TCP state in /proc/net/tcp


def listening_sockets() -> set[str]:
    """`address:port` (hex, as /proc/net/tcp writes it) of every TCP socket this process has
    listening."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc (Linux)")
    inodes = set()
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                found.add(fields[1])
    return found


def dataplane_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mtlsform-dataplane")]
