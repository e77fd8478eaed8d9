"""Builders for the pki tests: specs, certificate sets, hand-made certificates, stacks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtlsform.diagnostics import Position
from mtlsform.pki.generate import generate_certificate
from mtlsform.pki.material import CertificateMaterial
from mtlsform.stack.model import (
    Certificate,
    CertificateFiles,
    Listener,
    Positions,
    ProviderConfig,
    Stack,
    Subject,
    Tls,
)

STACK_FILE = "stack.yaml"


@dataclass(frozen=True)
class CertSet:
    """The walk-through set: a CA, a server and a client certificate signed by it."""

    key_type: str
    ca: CertificateMaterial
    server: CertificateMaterial
    client: CertificateMaterial


# The instant every generated test certificate is dated from, and the `now` the tests check
# them at: fixed when the test process starts, so a session fixture made minutes into a long
# run is never "not valid yet" against an earlier `now`.
ANCHOR = datetime.now(UTC)

def ca_spec(name: str = "ca", cn: str = "Example Root CA", key: str = "ecdsa-p256",
            **kw: Any) -> Certificate:
    return Certificate(name=name, type="ca", subject=Subject(cn), key=key,
                       validity_days=kw.pop("validity_days", 3650), **kw)


def server_spec(name: str = "server", cn: str = "www.example.com", key: str = "ecdsa-p256",
                **kw: Any) -> Certificate:
    kw.setdefault("dns_names", ("www.example.com", "localhost"))
    kw.setdefault("ip_addresses", ("127.0.0.1",))
    return Certificate(name=name, type="server", subject=Subject(cn), key=key,
                       issuer=kw.pop("issuer", "ca"), **kw)


def client_spec(name: str = "client", cn: str = "client-1", key: str = "ecdsa-p256",
                **kw: Any) -> Certificate:
    return Certificate(name=name, type="client", subject=Subject(cn), key=key,
                       issuer=kw.pop("issuer", "ca"), **kw)


def make_set(key_type: str, ca_cn: str = "Example Root CA") -> CertSet:
    ca = generate_certificate(ca_spec(cn=ca_cn, key=key_type), None, now=ANCHOR)
    return CertSet(key_type, ca,
                   generate_certificate(server_spec(key=key_type), ca, now=ANCHOR),
                   generate_certificate(client_spec(key=key_type), ca, now=ANCHOR))


def write_set(directory: Path, cert_set: CertSet) -> dict[str, Path]:
    """ca.crt, server.crt/.key, client.crt/.key in `directory`."""
    paths = {"ca": directory / "ca.crt"}
    paths["ca"].write_text(cert_set.ca.certificate_pem)
    for role in ("server", "client"):
        material: CertificateMaterial = getattr(cert_set, role)
        paths[role] = directory / f"{role}.crt"
        paths[role].write_text(material.full_chain_pem)
        paths[f"{role}_key"] = directory / f"{role}.key"
        assert material.private_key_pem is not None
        paths[f"{role}_key"].write_text(material.private_key_pem.reveal())
    return paths


# --- hand-built certificates for the cases generation never produces ---------------------

def build_cert(*, cn: str, key: Any = None, issuer: tuple[x509.Certificate, Any] | None = None,
               ca: bool = False, ekus: list[x509.ObjectIdentifier] | None = None,
               dns: tuple[str, ...] = (), not_before: datetime | None = None,
               days: int = 90) -> tuple[x509.Certificate, Any]:
    """A certificate with exactly the given properties; `ekus=None` leaves the extension out."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    start = not_before or ANCHOR - timedelta(minutes=5)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ekus is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if dns:
        sans = [x509.DNSName(d) for d in dns]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    algorithm = None if _is_eddsa(issuer_key) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm), key


def _is_eddsa(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
    return isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)


SERVER_AUTH = [ExtendedKeyUsageOID.SERVER_AUTH]
CLIENT_AUTH = [ExtendedKeyUsageOID.CLIENT_AUTH]


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Any, password: bytes | None = None, *, traditional: bool = False) -> bytes:
    fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional
           else serialization.PrivateFormat.PKCS8)
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


# --- stacks built directly (the loader is tested elsewhere) ------------------------------

def pos(line: int, column: int = 5) -> Position:
    return Position(STACK_FILE, line, column)


# Each certificate's fields get their own line so tests can check where a diagnostic points.
FIELD_LINES = {"": 0, "files": 1, "files.certificate": 2, "files.private_key": 3,
               "files.chain": 4, "subject.common_name": 5, "issuer": 6, "validity_days": 7}


def positions_for(index: int) -> Positions:
    base = 10 * (index + 1)
    return Positions(own=pos(base), fields={k: pos(base + d) for k, d in FIELD_LINES.items()
                                            if k})


def imported(name: str, type_: str, certificate: str, private_key: str | None = None,
             chain: str | None = None, passphrase_env: str | None = None,
             **kw: Any) -> Certificate:
    files = CertificateFiles(Path(certificate), Path(private_key) if private_key else None,
                             Path(chain) if chain else None, passphrase_env)
    return Certificate(name=name, type=type_, files=files, **kw)  # type: ignore[arg-type]


def listener_tls(certificate: str, client_ca: str | None = "ca",
                 name: str = "https") -> Listener:
    tls = Tls(mode="mutual" if client_ca else "one-way", certificate=certificate,
              client_ca=client_ca,
              positions=Positions(own=pos(100), fields={"certificate": pos(101, 20),
                                                         "client_ca": pos(102, 20)}))
    return Listener(name=name, load_balancer="web", port=443, tls=tls)


def make_stack(directory: Path, certificates: list[Certificate],
               listeners: list[Listener] = ()) -> Stack:  # type: ignore[assignment]
    from dataclasses import replace

    certs = {c.name: replace(c, positions=positions_for(i)) for i, c in enumerate(certificates)}
    return Stack(version=1, name="test", path=directory / STACK_FILE, provider=ProviderConfig(),
                 variables={}, certificates=certs, load_balancers={}, backends={},
                 listeners={lst.name: lst for lst in listeners}, outputs={})


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)
