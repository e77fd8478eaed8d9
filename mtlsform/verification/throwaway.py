"""Throwaway client certificates for the refusal checks: one from an unknown CA, and expired
ones signed by the stack's own client CA (whose key is in the state).

They are made on the fly with ECDSA P-256 keys (fast), live only in memory and in the TLS
contexts of one run, and are never written to the state or shown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mtlsform.stack.model import Certificate, KeyType, Subject
from mtlsform.verification.model import ClientIdentity, SigningCa

if TYPE_CHECKING:
    from mtlsform.pki.material import CertificateMaterial

KEY: KeyType = "ecdsa-p256"


def _identity(label: str, material: CertificateMaterial) -> ClientIdentity:
    assert material.private_key_pem is not None
    return ClientIdentity(label, material.certificate_pem, material.chain_pem,
                          material.private_key_pem)


def unknown_ca_client(now: datetime | None = None) -> ClientIdentity:
    """A valid client certificate issued by a CA made just now, which no listener trusts."""
    from mtlsform.pki import generate_certificate

    now = now or datetime.now(UTC)
    ca = generate_certificate(
        Certificate(name="verify-unknown-ca", type="ca", key=KEY, validity_days=2,
                    subject=Subject(common_name="mtlsform verify unknown CA")), None, now=now)
    leaf = generate_certificate(
        Certificate(name="verify-unknown-client", type="client", key=KEY, validity_days=2,
                    issuer="verify-unknown-ca",
                    subject=Subject(common_name="mtlsform-verify-unknown")), ca, now=now)
    return _identity("a client certificate from an unknown CA", leaf)


def expired_client(ca: SigningCa, now: datetime | None = None) -> ClientIdentity | None:
    """A client certificate signed by `ca` that expired two days ago (None without its key)."""
    from mtlsform.pki import CertificateMaterial, generate_certificate

    if ca.private_key_pem is None:
        return None
    issuer = CertificateMaterial.from_pem(ca.certificate_pem, ca.chain_pem, ca.private_key_pem)
    # Issued three days ago for one day: expired two days ago, signed by the real CA.
    issued = (now or datetime.now(UTC)) - timedelta(days=3)
    leaf = generate_certificate(
        Certificate(name="verify-expired-client", type="client", key=KEY, validity_days=1,
                    issuer=ca.name, subject=Subject(common_name="mtlsform-verify-expired")),
        issuer, now=issued)
    return _identity(f"an expired client certificate signed by {ca.name}", leaf)


def fresh_client(ca: SigningCa, now: datetime | None = None) -> ClientIdentity | None:
    """A valid client certificate signed by `ca`, for a stack that has none of its own."""
    from mtlsform.pki import CertificateMaterial, generate_certificate

    if ca.private_key_pem is None:
        return None
    issuer = CertificateMaterial.from_pem(ca.certificate_pem, ca.chain_pem, ca.private_key_pem)
    leaf = generate_certificate(
        Certificate(name="verify-client", type="client", key=KEY, validity_days=1,
                    issuer=ca.name, subject=Subject(common_name="mtlsform-verify-client")),
        issuer, now=now)
    return _identity(f"a throwaway client certificate signed by {ca.name}", leaf)
