"""Whether an entry accepts a client certificate: a real mutual-TLS handshake and one request.

Used after a listener or domain is switched to another client-CA upload (a client-CA rollover)
to prove that it lets in a client certificate of each CA it should trust. The server is not
verified (the question is the client side); any HTTP answer counts as accepted, a refusal
after the TCP connection (an alert, a reset) as refused, no connection at all as unreachable.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from pathlib import Path

from mtlsform.sensitive import Sensitive

HANDSHAKE_TIMEOUT = 5.0  # seconds for the connection, the handshake and the answer


def client_accepted(host: str, port: int, server_name: str | None, certificate_pem: str,
                    private_key_pem: Sensitive[str],
                    timeout: float = HANDSHAKE_TIMEOUT) -> bool | None:
    """True when `host:port` answers a request made with this client certificate, False when
    it refuses it, None when nothing could be connected to."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with tempfile.TemporaryDirectory(prefix="mtlsform-probe-") as folder:
        cert, key = Path(folder) / "client.crt", Path(folder) / "client.key"
        cert.write_text(certificate_pem, encoding="ascii")
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(private_key_pem.reveal())
        context.load_cert_chain(cert, key)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None
    try:
        with raw, context.wrap_socket(raw, server_hostname=server_name or None) as tls:
            host_header = server_name or host
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\n"
                        "Connection: close\r\n\r\n".encode())
            answer = tls.recv(16)
    except (OSError, ssl.SSLError, ValueError):
        return False
    return answer.startswith(b"HTTP/")
