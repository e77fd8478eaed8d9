"""The certificate an entry presents: the SHA-256 of the leaf a real TLS handshake gets.

Used after a certificate switch to confirm the VIP serves the new one. The handshake verifies
nothing (it is the fingerprint that is compared) and sends no client certificate: with TLS 1.3
a mutual-TLS listener's leaf arrives before it can refuse us (with TLS 1.2 only, the refusal
ends the handshake first, and the entry counts as not reached). An entry that cannot be reached
gives None.
"""

from __future__ import annotations

import hashlib
import socket
import ssl

HANDSHAKE_TIMEOUT = 5.0  # seconds for the connection and the handshake


def presented_fingerprint(host: str, port: int, server_name: str | None,
                          timeout: float = HANDSHAKE_TIMEOUT) -> str | None:
    """The lowercase hex SHA-256 of the leaf `host:port` presents for `server_name`, or None
    when no handshake got that far (nothing listens, refused, timed out)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=server_name or None) as tls:
            leaf = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError):
        return None
    return hashlib.sha256(leaf).hexdigest() if leaf else None
