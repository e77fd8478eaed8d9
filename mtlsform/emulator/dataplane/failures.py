"""The record of refused handshakes: logged with their reason and kept for inspection.

Every failed TLS handshake is logged at WARNING on the logger `mtlsform.emulator.dataplane`,
e.g. `handshake refused on lbl-1a2b3c4d 127.1.0.1:443 from 127.0.0.1:51234 (SNI
www.example.com): no client certificate [PEER_DID_NOT_RETURN_A_CERTIFICATE]`, and the last
few hundred are kept as `HandshakeRecord` values (for tests and `mtlsform verify`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass

from mtlsform.emulator.dataplane.tlscontexts import HandshakeFailure

log = logging.getLogger("mtlsform.emulator.dataplane")

KEPT = 500


@dataclass(frozen=True)
class HandshakeRecord:
    """One refused handshake: where, from whom, for which SNI, and why."""

    at: float
    listener_id: str
    listen: str
    client: str
    server_name: str | None
    reason: str
    message: str
    detail: str


class FailureLog:
    """Thread-safe ring of recent handshake failures."""

    def __init__(self, level: int = logging.WARNING) -> None:
        self._level = level  # what refusals are logged at
        self._records: collections.deque[HandshakeRecord] = collections.deque(maxlen=KEPT)
        self._lock = threading.Lock()

    def record(self, *, listener_id: str, listen: str, client: str, server_name: str | None,
               failure: HandshakeFailure) -> HandshakeRecord:
        entry = HandshakeRecord(time.time(), listener_id, listen, client, server_name,
                                failure.reason, failure.message, failure.detail)
        with self._lock:
            self._records.append(entry)
        sni = f" (SNI {server_name})" if server_name else " (no SNI)"
        log.log(self._level, "handshake refused on %s %s from %s%s: %s [%s]", listener_id,
                listen, client, sni, failure.message, failure.detail)
        return entry

    def records(self) -> list[HandshakeRecord]:
        with self._lock:
            return list(self._records)
