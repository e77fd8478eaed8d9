"""Private keys: generate each supported key type, name a key's type, pick its signature hash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from mtlsform.errors import CertificateError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

# The key types a stack may ask for (the stack schema holds the same list).
KEY_TYPES = ("rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384")

_CURVES = {"ecdsa-p256": ec.SECP256R1, "ecdsa-p384": ec.SECP384R1}
_CURVE_NAMES = {"secp256r1": "p256", "secp384r1": "p384", "secp521r1": "p521"}

# Key types the load balancer accepts for upload (RSA and ECC only, see docs/certificates.md).
MIN_RSA_BITS = 2048


def generate_private_key(key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A new private key of one of KEY_TYPES."""
    if key_type.startswith("rsa-") and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    raise CertificateError(
        f"unsupported key type {key_type!r}", hint=f"use one of: {', '.join(KEY_TYPES)}"
    )


def key_type_of(key: PublicKeyTypes | PrivateKeyTypes) -> str:
    """The key type's name for a public or private key: rsa-2048, ecdsa-p256, ed25519..."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"ecdsa-{_CURVE_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey):
        return "ed448"
    if isinstance(key, dsa.DSAPublicKey | dsa.DSAPrivateKey):
        return f"dsa-{key.key_size}"
    return "unknown"


def signature_hash(signing_key: PrivateKeyTypes) -> hashes.SHA256 | hashes.SHA384 | None:
    """SHA-384 for a P-384 (or larger) signer, SHA-256 otherwise; None for EdDSA keys."""
    if isinstance(signing_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(signing_key, ec.EllipticCurvePrivateKey) and signing_key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def private_key_pem(key: PrivateKeyTypes) -> str:
    """Unencrypted PEM for upload: PKCS#1 / SEC1 ("BEGIN RSA/EC PRIVATE KEY").

    Load balancers ask for this traditional form; EdDSA keys have none, so they get PKCS#8.
    """
    fmt = serialization.PrivateFormat.TraditionalOpenSSL
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        fmt = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             serialization.NoEncryption()).decode("ascii")


def pkcs8_pem(key: PrivateKeyTypes) -> str:
    """Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), the form local tools read everywhere."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def same_public_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    """Whether two public keys are the same key (compared as DER SubjectPublicKeyInfo)."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return (a.public_bytes(serialization.Encoding.DER, spki)
            == b.public_bytes(serialization.Encoding.DER, spki))
