"""Check (e) of `verify`: the TLS policy of a listener or domain, by real handshakes.

Under a policy that forbids them, a client offering only TLS 1.0 or only TLS 1.1 (or only
TLS 1.2, for a TLS 1.3-only policy), and a client offering only a weak cipher (CBC with SHA-1)
the policy does not list, must not complete a handshake. Each probe presents the stack's client
certificate in mutual mode, so what refuses it is the version or the cipher, not a missing
certificate. The local OpenSSL must be able to offer the version: OpenSSL 3 offers TLS 1.0 and
1.1 only at security level 0, which these probes set; where it cannot, the probe is skipped
with the reason.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from dataclasses import dataclass

from mtlsform.verification.model import ClientIdentity
from mtlsform.verification.tlsprobe import request_context

TIMEOUT = 10.0
_VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
             "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
# Weak ciphers a probe offers (and nothing else): CBC with SHA-1, with ECDHE for either
# certificate type, and with RSA key exchange.
WEAK_CIPHERS = ("ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES128-SHA")


@dataclass(frozen=True)
class Probe:
    """One handshake: `agreed` the version and cipher when it completed, else `refused` why,
    or `unable` why this machine could not offer it."""

    agreed: str | None = None
    refused: str | None = None
    unable: str | None = None


def probe(host: str, port: int, server_name: str, identity: ClientIdentity | None, *,
          version: str, ciphers: str = "DEFAULT") -> Probe:
    """A handshake offering only `version` (and, up to TLS 1.2, only `ciphers`)."""
    try:
        context = request_context(identity)
        with warnings.catch_warnings():  # TLSv1 and TLSv1_1 are deprecated names in Python
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = _VERSIONS[version]
        context.set_ciphers(ciphers + ":@SECLEVEL=0")
    except (ssl.SSLError, ValueError) as exc:
        return Probe(unable=f"this machine's OpenSSL cannot offer {version} with {ciphers} "
                            f"({exc})")
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as raw, \
                context.wrap_socket(raw, server_hostname=server_name) as tls:
            cipher = tls.cipher()
            return Probe(agreed=f"{tls.version()} {cipher[0] if cipher else ''}".strip())
    except ssl.SSLError as exc:
        return Probe(refused=(exc.reason or str(exc)).lower().replace("_", " "))
    except (OSError, TimeoutError) as exc:
        return Probe(refused=f"connection closed ({type(exc).__name__})")


def forbidden_versions(protocols: tuple[str, ...]) -> list[str]:
    """The versions before the oldest a policy accepts, down to TLS 1.0."""
    order = list(_VERSIONS)
    accepted = [order.index(p) for p in protocols if p in _VERSIONS]
    oldest = min(accepted) if accepted else 0
    return order[:oldest]


def weak_ciphers(ciphers: tuple[str, ...]) -> str | None:
    """The weak ciphers the policy does not list, offered together so that one of them suits
    the server's key (RSA or ECDSA); None when the policy lists no ciphers."""
    if not ciphers:
        return None
    weak = [name for name in WEAK_CIPHERS if name not in ciphers]
    return ":".join(weak) or None
