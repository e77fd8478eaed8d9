"""CertificateMaterial: a certificate with its chain and key, as the engine keeps it in state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mtlsform.errors import CertificateError
from mtlsform.pki.facts import facts_of, iso_utc
from mtlsform.pki.keys import private_key_pem
from mtlsform.sensitive import Sensitive


def pem_of(cert: x509.Certificate) -> str:
    """Canonical PEM: 64-column base64, one trailing newline."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class CertificateMaterial:
    """A leaf (or CA) certificate, the intermediates after it and its private key.

    The PEM texts are canonical (what is uploaded); the facts are read from the certificate.
    `private_key_pem` is unencrypted PKCS#1/SEC1 PEM, always wrapped in Sensitive.
    """

    certificate_pem: str
    chain_pem: str
    private_key_pem: Sensitive[str] | None
    fingerprint_sha256: str
    serial: str
    subject_cn: str
    issuer_cn: str
    not_before: datetime
    not_after: datetime
    key_type: str
    is_ca: bool
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    ekus: tuple[str, ...]  # empty when the certificate has no extendedKeyUsage extension

    @classmethod
    def from_objects(cls, cert: x509.Certificate, chain: Sequence[x509.Certificate] = (),
                     key: Any | None = None) -> CertificateMaterial:
        """Builds material from parsed objects (a cryptography private key or None)."""
        return cls.from_pem(pem_of(cert), "".join(pem_of(c) for c in chain),
                            None if key is None else Sensitive(private_key_pem(key)))

    @classmethod
    def from_pem(cls, certificate_pem: str, chain_pem: str = "",
                 private_key_pem: Sensitive[str] | None = None) -> CertificateMaterial:
        """Builds material from canonical PEM texts; the facts are read from the certificate."""
        cert = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
        facts = facts_of(cert)
        return cls(
            certificate_pem=certificate_pem,
            chain_pem=chain_pem,
            private_key_pem=private_key_pem,
            fingerprint_sha256=facts.fingerprint_sha256,
            serial=facts.serial,
            subject_cn=facts.subject_cn,
            issuer_cn=facts.issuer_cn,
            not_before=facts.not_before,
            not_after=facts.not_after,
            key_type=facts.key_type,
            is_ca=facts.is_ca,
            dns_names=facts.dns_names,
            ip_addresses=facts.ip_addresses,
            ekus=facts.ekus or (),
        )

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))

    def chain(self) -> list[x509.Certificate]:
        if not self.chain_pem.strip():
            return []
        return x509.load_pem_x509_certificates(self.chain_pem.encode("ascii"))

    def private_key(self) -> Any:
        """The private key object; CertificateError when the material has none."""
        if self.private_key_pem is None:
            raise CertificateError(f"certificate {self.subject_cn!r} has no private key here")
        try:
            return serialization.load_pem_private_key(
                self.private_key_pem.reveal().encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise CertificateError(
                f"the private key of certificate {self.subject_cn!r} is damaged (unreadable "
                "PEM)", hint="the state file may be damaged; restore it from its backup",
            ) from None

    @property
    def full_chain_pem(self) -> str:
        """The certificate followed by its intermediates (what a TLS server presents)."""
        return self.certificate_pem + self.chain_pem

    def to_state(self) -> dict[str, Any]:
        """The state attributes: JSON-able, except `private_key_pem`, which stays Sensitive.

        Only what the plan shows is stored besides the PEM; from_state re-reads the rest."""
        return {
            "certificate_pem": self.certificate_pem,
            "chain_pem": self.chain_pem,
            "private_key_pem": self.private_key_pem,
            "fingerprint": self.fingerprint_sha256,
            "serial": self.serial,
            "subject_cn": self.subject_cn,
            "issuer_cn": self.issuer_cn,
            "not_before": iso_utc(self.not_before),
            "not_after": iso_utc(self.not_after),
            "key_type": self.key_type,
        }

    @classmethod
    def from_state(cls, d: Mapping[str, Any]) -> CertificateMaterial:
        """Inverse of to_state. The PEM is the truth: facts are re-read from it and a stored
        fingerprint that disagrees is refused. The key may come as Sensitive or plain str."""
        try:
            cert_pem = d["certificate_pem"]
            chain_pem = d.get("chain_pem") or ""
            key = d.get("private_key_pem")
            if isinstance(key, str):
                key = Sensitive(key)
            material = cls.from_pem(cert_pem, chain_pem, key)
        except (KeyError, TypeError, ValueError) as exc:
            raise CertificateError(
                f"the state holds unreadable certificate material ({type(exc).__name__})",
                hint="the state file may be damaged; restore it from its backup") from None
        stored = d.get("fingerprint")
        if stored and stored != material.fingerprint_sha256:
            raise CertificateError(
                f"the state's certificate (CN {material.subject_cn!r}) does not match its "
                f"recorded fingerprint {stored}",
                hint="the state file may have been edited; restore it from its backup")
        return material
