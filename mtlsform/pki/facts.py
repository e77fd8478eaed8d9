"""CertificateFacts: what one X.509 certificate says, read once into plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from mtlsform.pki.keys import key_type_of

# OpenSSL's short names for the usual extended key usages; others show as dotted OIDs.
EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}

# OpenSSL's names for the usual signature algorithms; others show as dotted OIDs.
_SIGNATURE_NAMES = {
    SignatureAlgorithmOID.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "sha512WithRSAEncryption",
    SignatureAlgorithmOID.RSASSA_PSS: "rsassaPss",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    SignatureAlgorithmOID.ED25519: "ED25519",
    SignatureAlgorithmOID.ED448: "ED448",
}

# KeyUsage attributes and OpenSSL's names for them.
_KEY_USAGE_BITS = {
    "digital_signature": "digitalSignature", "content_commitment": "nonRepudiation",
    "key_encipherment": "keyEncipherment", "data_encipherment": "dataEncipherment",
    "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign",
}


@dataclass(frozen=True)
class CertificateFacts:
    """The facts `certs inspect` shows and the checks read; `ekus` is None without the extension."""

    subject: str  # RFC 4514, e.g. "CN=www.example.com,O=Example"
    issuer: str
    subject_cn: str  # "" when the subject has no common name
    issuer_cn: str
    serial: str  # lowercase hex
    not_before: datetime  # aware, UTC
    not_after: datetime
    key_type: str  # rsa-2048, ecdsa-p256, ed25519...
    is_ca: bool
    path_length: int | None
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    other_names: tuple[str, ...]  # e-mail and URI SANs as "email:x" / "URI:x"
    ekus: tuple[str, ...] | None
    key_usage: tuple[str, ...]
    fingerprint_sha256: str  # lowercase hex, no separators
    signature_algorithm: str
    self_issued: bool  # subject == issuer

    @property
    def sans(self) -> tuple[str, ...]:
        return (tuple(f"DNS:{d}" for d in self.dns_names)
                + tuple(f"IP:{i}" for i in self.ip_addresses) + self.other_names)

    def days_left(self, now: datetime) -> int:
        """Whole days until not_after (negative once expired)."""
        return (self.not_after - now).days

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "subject_cn": self.subject_cn,
            "issuer_cn": self.issuer_cn,
            "serial": self.serial,
            "not_before": iso_utc(self.not_before),
            "not_after": iso_utc(self.not_after),
            "days_left": self.days_left(now),
            "expired": now >= self.not_after,
            "key_type": self.key_type,
            "is_ca": self.is_ca,
            "path_length": self.path_length,
            "sans": list(self.sans),
            "dns_names": list(self.dns_names),
            "ip_addresses": list(self.ip_addresses),
            "ekus": None if self.ekus is None else list(self.ekus),
            "key_usage": list(self.key_usage),
            "fingerprint_sha256": self.fingerprint_sha256,
            "signature_algorithm": self.signature_algorithm,
            "self_issued": self.self_issued,
        }


def iso_utc(moment: datetime) -> str:
    """`2026-05-09T07:35:25Z`: the one text form of a certificate time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _extension(cert: x509.Certificate, ext_type: type) -> Any:
    try:
        return cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None


def facts_of(cert: x509.Certificate) -> CertificateFacts:
    """Reads a certificate's facts (never fails on a well-formed certificate)."""
    basic = _extension(cert, x509.BasicConstraints)
    san = _extension(cert, x509.SubjectAlternativeName)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    usage = _extension(cert, x509.KeyUsage)
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    others: list[str] = []
    if san is not None:
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
        others += [f"email:{v}" for v in san.get_values_for_type(x509.RFC822Name)]
        others += [f"URI:{v}" for v in san.get_values_for_type(x509.UniformResourceIdentifier)]
    key_usage: tuple[str, ...] = ()
    if usage is not None:
        # encipher_only/decipher_only raise unless key_agreement is set, so they are left out.
        key_usage = tuple(name for bit, name in _KEY_USAGE_BITS.items() if getattr(usage, bit))
    sig_oid = cert.signature_algorithm_oid
    return CertificateFacts(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        subject_cn=_common_name(cert.subject),
        issuer_cn=_common_name(cert.issuer),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type_of(cert.public_key()),
        is_ca=bool(basic is not None and basic.ca),
        path_length=basic.path_length if basic is not None and basic.ca else None,
        dns_names=dns,
        ip_addresses=ips,
        other_names=tuple(others),
        ekus=None if eku is None else tuple(EKU_NAMES.get(o, o.dotted_string) for o in eku),
        key_usage=key_usage,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        signature_algorithm=_SIGNATURE_NAMES.get(sig_oid, sig_oid.dotted_string),
        self_issued=cert.subject == cert.issuer,
    )
