"""Generation of the mTLS set: a CA, server and client certificates from their stack specs."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtlsform.errors import CertificateError
from mtlsform.pki.keys import generate_private_key, signature_hash
from mtlsform.pki.material import CertificateMaterial
from mtlsform.pki.spec import CertificateSpec, SubjectSpec

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes

# not_before is set this far in the past so clients with a slow clock accept a new certificate.
CLOCK_SKEW = timedelta(minutes=5)

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*\.?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def random_serial() -> int:
    """A positive 128-bit serial: 127 random bits with the top bit set (RFC 5280 <= 20 octets)."""
    return int.from_bytes(os.urandom(16), "big") | (1 << 127)


def subject_name(subject: SubjectSpec) -> x509.Name:
    pairs = [
        (NameOID.COUNTRY_NAME, subject.country),
        (NameOID.STATE_OR_PROVINCE_NAME, subject.state),
        (NameOID.LOCALITY_NAME, subject.locality),
        (NameOID.ORGANIZATION_NAME, subject.organization),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, subject.organizational_unit),
        (NameOID.COMMON_NAME, subject.common_name),
    ]
    try:
        return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value])
    except ValueError as exc:  # e.g. a country that is not a two-letter code
        raise CertificateError(f"invalid subject: {exc}") from None


def name_as_san(name: str) -> x509.GeneralName | None:
    """The SAN entry a common name stands for (IP, DNS name, e-mail), or None if none fits."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return None
    if _HOSTNAME.match(ascii_name):
        return x509.DNSName(ascii_name)
    if _EMAIL.match(name) and name.isascii():
        return x509.RFC822Name(name)
    return None


def subject_alt_names(spec: CertificateSpec) -> list[x509.GeneralName]:
    """The SAN of a leaf: dns_names, ip_addresses, then the common name if not already there."""
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    if spec.subject is not None:
        cn_entry = name_as_san(spec.subject.common_name)
        if cn_entry is not None and cn_entry not in names:
            names.append(cn_entry)
    return names


def _key_usage(*, digital_signature: bool = False, key_encipherment: bool = False,
               cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=False,
        key_encipherment=key_encipherment, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def _check_issuer(spec: CertificateSpec, issuer: CertificateMaterial | None) -> None:
    if issuer is None:
        if spec.type != "ca":
            raise CertificateError(f"certificate {spec.name!r} needs an issuer CA to be generated")
        return
    if not issuer.is_ca:
        raise CertificateError(
            f"cannot issue certificate {spec.name!r}: its issuer {issuer.subject_cn!r} is not a CA")
    if issuer.private_key_pem is None:
        raise CertificateError(
            f"cannot issue certificate {spec.name!r}: its issuer {issuer.subject_cn!r} has no "
            "private key", hint="an imported CA that signs generated certificates needs "
                                "files.private_key")


def generate_certificate(spec: CertificateSpec, issuer: CertificateMaterial | None, *,
                         now: datetime | None = None) -> CertificateMaterial:
    """Generates a key and a certificate for `spec`, signed by `issuer` (None: self-signed CA)."""
    if spec.subject is None:
        raise CertificateError(f"certificate {spec.name!r} has no subject to generate from")
    _check_issuer(spec, issuer)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    key = generate_private_key(spec.key)
    public_key = key.public_key()
    name = subject_name(spec.subject)
    if issuer is None:
        issuer_cert, signing_key, issuer_name = None, key, name
    else:
        issuer_cert = issuer.certificate()
        signing_key = issuer.private_key()
        issuer_name = issuer_cert.subject

    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=spec.validity_days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(_authority_key_id(issuer_cert), critical=False)
    builder = _add_type_extensions(builder, spec)

    cert = builder.sign(signing_key, signature_hash(signing_key))
    chain: list[x509.Certificate] = []
    if issuer is not None and issuer_cert is not None and issuer_cert.subject != issuer_cert.issuer:
        # The issuer is an intermediate: the leaf's chain is that CA and the CA's own chain.
        chain = [issuer_cert, *issuer.chain()]
    return CertificateMaterial.from_objects(cert, chain, key)


def _authority_key_id(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:  # an imported CA without SKI: derive it from its key
        # An issuer's key is one that signs (X25519 and the like are refused later, by sign()).
        key = cast("CertificateIssuerPublicKeyTypes", issuer_cert.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(key)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _add_type_extensions(builder: x509.CertificateBuilder,
                         spec: CertificateSpec) -> x509.CertificateBuilder:
    if spec.type == "ca":
        return (builder
                .add_extension(x509.BasicConstraints(ca=True, path_length=spec.path_length),
                               critical=True)
                .add_extension(_key_usage(cert_sign=True), critical=True))

    is_rsa = spec.key.startswith("rsa-")
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                    critical=True)
    if spec.type == "server":
        usage = _key_usage(digital_signature=True, key_encipherment=is_rsa)
        eku = ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = _key_usage(digital_signature=True)
        eku = ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (builder
               .add_extension(usage, critical=True)
               .add_extension(x509.ExtendedKeyUsage([eku]), critical=False))
    sans = subject_alt_names(spec)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder
