"""Generation: the extensions, serials, validity and hashes of each certificate type."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store

from mtlsform.errors import CertificateError
from mtlsform.pki.generate import CLOCK_SKEW, generate_certificate
from mtlsform.stack.model import Subject
from tests.pki.builders import CertSet, ca_spec, client_spec, server_spec

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def ext(cert: x509.Certificate, ext_type: type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(ext_type)


def test_ca_extensions(key_set: CertSet) -> None:
    cert = key_set.ca.certificate()
    basic = ext(cert, x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature and not usage.value.key_encipherment
    ski = ext(cert, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    with pytest.raises(x509.ExtensionNotFound):  # a self-signed root carries no AKI
        ext(cert, x509.AuthorityKeyIdentifier)
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    assert key_set.ca.is_ca and key_set.ca.chain_pem == ""


def test_server_extensions(key_set: CertSet) -> None:
    cert = key_set.server.certificate()
    ca = key_set.ca.certificate()
    assert ext(cert, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    # keyEncipherment only for RSA: ECDSA keys cannot encipher.
    assert usage.value.key_encipherment is key_set.key_type.startswith("rsa-")
    assert not usage.value.key_cert_sign
    basic = ext(cert, x509.BasicConstraints)
    assert basic.critical and not basic.value.ca
    aki = ext(cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(ca, x509.SubjectKeyIdentifier).value.digest
    assert ext(cert, x509.SubjectKeyIdentifier).value == \
        x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.example.com", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    cert.verify_directly_issued_by(ca)
    assert key_set.server.key_type == key_set.key_type
    assert key_set.server.ekus == ("serverAuth",)
    assert key_set.server.issuer_cn == "Example Root CA"


def test_client_extensions(key_set: CertSet) -> None:
    cert = key_set.client.certificate()
    assert ext(cert, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH])
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not usage.value.key_encipherment and not usage.value.key_cert_sign
    assert not ext(cert, x509.BasicConstraints).value.ca
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == \
        ext(key_set.ca.certificate(), x509.SubjectKeyIdentifier).value.digest
    ext(cert, x509.SubjectKeyIdentifier)
    # The common name is in the SAN, so cryptography's default client policy accepts it.
    assert ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == \
        ["client-1"]


def test_signature_hash_follows_the_signing_key(key_set: CertSet) -> None:
    expected = hashes.SHA384 if key_set.key_type == "ecdsa-p384" else hashes.SHA256
    for material in (key_set.ca, key_set.server, key_set.client):
        assert isinstance(material.certificate().signature_hash_algorithm, expected)


def test_private_key_is_traditional_pem(key_set: CertSet) -> None:
    assert key_set.server.private_key_pem is not None
    first = key_set.server.private_key_pem.reveal().splitlines()[0]
    kind = "RSA" if key_set.key_type.startswith("rsa-") else "EC"
    assert first == f"-----BEGIN {kind} PRIVATE KEY-----"
    key = key_set.server.private_key()
    assert key.public_key() == key_set.server.certificate().public_key()


def test_cryptography_verifiers_accept_the_set(key_set: CertSet) -> None:
    store = Store([key_set.ca.certificate()])
    builder = PolicyBuilder().store(store)
    for subject in (DNSName("www.example.com"), IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = builder.build_server_verifier(subject).verify(key_set.server.certificate(), [])
        assert len(chain) == 2
    verified = builder.build_client_verifier().verify(key_set.client.certificate(), [])
    assert verified.subjects == [x509.DNSName("client-1")]


def test_serials_are_random_positive_and_at_least_64_bits(p256: CertSet) -> None:
    serials = {generate_certificate(client_spec(), p256.ca).certificate().serial_number
               for _ in range(5)}
    assert len(serials) == 5
    assert all(s > 0 and s.bit_length() >= 64 and s.bit_length() <= 159 for s in serials)


def test_validity_is_backdated_and_from_validity_days(p256: CertSet) -> None:
    material = generate_certificate(server_spec(validity_days=90), p256.ca, now=NOW)
    assert material.not_before == NOW - CLOCK_SKEW
    assert material.not_after == NOW + timedelta(days=90)
    assert timedelta(minutes=1) <= CLOCK_SKEW


def test_common_name_is_added_to_the_san_once(p256: CertSet) -> None:
    added = generate_certificate(server_spec(cn="api.example.com", dns_names=("a.example.com",),
                                             ip_addresses=()), p256.ca)
    assert added.dns_names == ("a.example.com", "api.example.com")
    once = generate_certificate(server_spec(cn="a.example.com", dns_names=("a.example.com",),
                                            ip_addresses=()), p256.ca)
    assert once.dns_names == ("a.example.com",)
    by_ip = generate_certificate(server_spec(cn="10.0.0.7", dns_names=(), ip_addresses=()),
                                 p256.ca)
    assert by_ip.ip_addresses == ("10.0.0.7",) and by_ip.dns_names == ()


def test_client_san_from_the_common_name(p256: CertSet) -> None:
    email = generate_certificate(client_spec(cn="alice@example.com"), p256.ca).certificate()
    assert ext(email, x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name) == ["alice@example.com"]
    plain = generate_certificate(client_spec(cn="Alice Smith"), p256.ca).certificate()
    with pytest.raises(x509.ExtensionNotFound):  # a name that is no host or address: no SAN
        ext(plain, x509.SubjectAlternativeName)


def test_ca_path_length_and_intermediate(p256: CertSet) -> None:
    root = generate_certificate(ca_spec(name="root", cn="Root", path_length=1), None)
    assert ext(root.certificate(), x509.BasicConstraints).value.path_length == 1
    unlimited = generate_certificate(ca_spec(cn="Unlimited", path_length=None), None)
    assert ext(unlimited.certificate(), x509.BasicConstraints).value.path_length is None
    inter = generate_certificate(ca_spec(name="inter", cn="Intermediate", issuer="root"), root)
    assert ext(inter.certificate(), x509.AuthorityKeyIdentifier).value.key_identifier == \
        ext(root.certificate(), x509.SubjectKeyIdentifier).value.digest
    assert inter.chain_pem == ""  # its issuer is the root: nothing between
    leaf = generate_certificate(client_spec(issuer="inter"), inter)
    assert leaf.chain() == [inter.certificate()]
    verified = (PolicyBuilder().store(Store([root.certificate()])).build_client_verifier()
                .verify(leaf.certificate(), leaf.chain()))
    assert len(verified.chain) == 3


def test_generation_refusals(p256: CertSet) -> None:
    with pytest.raises(CertificateError, match="certificate 'server' needs an issuer CA"):
        generate_certificate(server_spec(), None)
    with pytest.raises(CertificateError, match=r"its issuer 'www\.example\.com' is not a CA"):
        generate_certificate(client_spec(), p256.server)
    from dataclasses import replace
    keyless = replace(p256.ca, private_key_pem=None)
    with pytest.raises(CertificateError, match="its issuer 'Example Root CA' has no private key"):
        generate_certificate(client_spec(), keyless)
    bad_country = ca_spec()
    bad_country = replace(bad_country, subject=Subject("X", country="France"))
    with pytest.raises(CertificateError, match="invalid subject"):
        generate_certificate(bad_country, None)


def test_full_subject(p256: CertSet) -> None:
    spec = ca_spec()
    from dataclasses import replace
    spec = replace(spec, subject=Subject("Acme CA", organization="Acme", organizational_unit="Ops",
                                         country="FR", state="IDF", locality="Paris"))
    cert = generate_certificate(spec, None).certificate()
    assert cert.subject.rfc4514_string() == "CN=Acme CA,OU=Ops,O=Acme,L=Paris,ST=IDF,C=FR"
