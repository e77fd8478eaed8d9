"""Test certificates made directly with cryptography (ECDSA P-256 for speed)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtlsform.emulator.dataplane.config import MUTUAL, UNIDIRECTIONAL, TlsPolicy
from mtlsform.sensitive import Sensitive

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
        cert_path.write_text(self.cert_pem)
        key_path.write_text(self.key_pem)
        key_path.chmod(0o600)
        return cert_path, key_path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mtlsform tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return Issued(cert, key)


def make_leaf(ca: Issued, common_name: str, *, dns: tuple[str, ...] = (),
              usage: str = "client", not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None, rsa_key: bool = False) -> Issued:
    """usage: "client" (clientAuth EKU), "server" (serverAuth only), "both"; an ECDSA P-256
    key, or an RSA 2048 one with `rsa_key`."""
    key: Any = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key
                else ec.generate_private_key(ec.SECP256R1()))
    ekus = {"client": [ExtendedKeyUsageOID.CLIENT_AUTH],
            "server": [ExtendedKeyUsageOID.SERVER_AUTH],
            "both": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]}[usage]
    builder = (x509.CertificateBuilder().subject_name(_name(common_name))
               .issuer_name(ca.cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before or NOW - DAY)
               .not_valid_after(not_after or NOW + 90 * DAY)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns]), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def expired_client(ca: Issued, common_name: str) -> Issued:
    return make_leaf(ca, common_name, not_before=NOW - 30 * DAY, not_after=NOW - DAY)


def policy(server: Issued, client_ca: Issued | None = None, *,
           verify_client: str = "ON") -> TlsPolicy:
    """A MUTUAL policy when a client CA is given, else one-way."""
    return TlsPolicy(server_cert_pem=server.cert_pem, server_key_pem=Sensitive(server.key_pem),
                     mode=MUTUAL if client_ca else UNIDIRECTIONAL, verify_client=verify_client,
                     client_ca_pem=client_ca.cert_pem if client_ca else None)
