"""Reading uploaded certificates: PEM chains, private keys, key match, the facts the API shows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from mtlsform.emulator.world import Certificate, cloud_time

_PEM_CERT = re.compile(
    r"-----BEGIN CERTIFICATE-----\s*[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


class CertParseError(Exception):
    """The certificate or key text cannot be used; the message says why (never echoes a key)."""


@dataclass
class ParsedCertificate:
    pem: str
    leaf: x509.Certificate
    chain: list[x509.Certificate]

    @property
    def is_ca(self) -> bool:
        return is_ca_certificate(self.leaf)

    def first_not_ca(self) -> int | None:
        """The 1-based place of the first certificate of the upload that is not a CA."""
        for place, cert in enumerate(self.chain, start=1):
            if not is_ca_certificate(cert):
                return place
        return None


def is_ca_certificate(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.value.ca)


def normalise_pem(text: str) -> str:
    """Strip surrounding whitespace and end with one newline, as the service stores PEM."""
    return text.strip().replace("\r\n", "\n") + "\n"


def parse_certificate(text: str) -> ParsedCertificate:
    blocks = _PEM_CERT.findall(text)
    if not blocks:
        raise CertParseError("no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    chain = []
    for block in blocks:
        try:
            chain.append(x509.load_pem_x509_certificate(block.encode("ascii")))
        except (ValueError, UnicodeEncodeError) as exc:
            raise CertParseError(f"the certificate cannot be parsed ({exc})") from None
    return ParsedCertificate(normalise_pem(text), chain[0], chain)


def parse_private_key(text: str, password: str | None = None) -> object:
    data = text.strip().encode("utf-8", "replace")
    try:
        return serialization.load_pem_private_key(
            data, password.encode("utf-8") if password else None)
    except TypeError:
        raise CertParseError(
            "the private key is encrypted and no (or a needless) KeyPassword was given") from None
    except (ValueError, UnicodeError):
        raise CertParseError("the private key cannot be parsed (PEM expected)") from None


def key_matches(parsed: ParsedCertificate, key: object) -> bool:
    public = getattr(key, "public_key", None)
    if public is None:
        return False
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours: bytes = public().public_bytes(der, spki)
    return ours == parsed.leaf.public_key().public_bytes(der, spki)


def key_algorithm(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECC {key.curve.key_size}"
    return type(key).__name__.replace("PublicKey", "").upper()


def is_supported_server_key(cert: x509.Certificate) -> bool:
    """CLB serves RSA and ECC server certificates only."""
    return isinstance(cert.public_key(), rsa.RSAPublicKey | ec.EllipticCurvePublicKey)


def names(cert: x509.Certificate) -> tuple[str, list[str]]:
    """(main domain: the common name or the first SAN, all SANs)."""
    sans: list[str] = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [*ext.get_values_for_type(x509.DNSName),
                *(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))]
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common = str(cns[0].value) if cns else ""
    return (common or (sans[0] if sans else "")), sans


def common_name(name: x509.Name) -> str:
    """The bare common name, as the SSL service shows a chain member's subject and issuer
    (the whole RFC 4514 name when there is no CN)."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA1()).hex()


def certificate_record(cert_id: str, cert_type: str, alias: str, parsed: ParsedCertificate,
                       private_key_pem: str | None, *, project_id: int = 0,
                       certificate_use: str | None = None,
                       tags: list[dict[str, str]] | None = None) -> Certificate:
    leaf = parsed.leaf
    domain, sans = names(leaf)
    return Certificate(
        cert_id=cert_id,
        cert_type=cert_type,
        alias=alias,
        certificate_pem=parsed.pem,
        private_key_pem=normalise_pem(private_key_pem) if private_key_pem else None,
        fingerprint=fingerprint(leaf),
        domain=domain,
        subject_alt_names=sans,
        not_before=cloud_time(leaf.not_valid_before_utc.timestamp()),
        not_after=cloud_time(leaf.not_valid_after_utc.timestamp()),
        not_after_epoch=leaf.not_valid_after_utc.timestamp(),
        key_algorithm=key_algorithm(leaf),
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        is_ca=parsed.is_ca,
        insert_time=cloud_time(),
        project_id=project_id,
        certificate_use=certificate_use,
        tags=list(tags or []),
        chain=[{"Issuer": common_name(c.issuer), "Subject": common_name(c.subject),
                "Fingerprint": fingerprint(c),
                "ValidFrom": cloud_time(c.not_valid_before_utc.timestamp()),
                "ValidTo": cloud_time(c.not_valid_after_utc.timestamp())}
               for c in parsed.chain],
    )
