"""Import from files: tolerance of harmless damage, and each refusal with its exact message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from mtlsform.errors import CertificateError
from mtlsform.pki.generate import generate_certificate
from mtlsform.pki.importing import ImportProblem, load_imported, read_imported
from tests.pki.builders import (
    ANCHOR,
    SERVER_AUTH,
    CertSet,
    build_cert,
    cert_pem,
    imported,
    key_pem,
    server_spec,
)

NOW = ANCHOR  # the instant the test certificates are dated from


def write(directory: Path, **files: bytes | str) -> None:
    for name, data in files.items():
        path = directory / name.replace("_", ".")
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def server_files(cert_set: CertSet) -> dict[str, str]:
    assert cert_set.server.private_key_pem is not None
    return {"server_crt": cert_set.server.certificate_pem,
            "server_key": cert_set.server.private_key_pem.reveal()}


def problems(spec, directory: Path, environ=None, now=NOW) -> list[ImportProblem]:
    return list(read_imported(spec, directory, environ or {}, now=now).problems)


def only(spec, directory: Path, environ=None, now=NOW) -> ImportProblem:
    found = problems(spec, directory, environ, now)
    assert len(found) == 1, found
    return found[0]


SERVER = imported("bought", "server", "server.crt", "server.key")


# --- what is tolerated and normalised ------------------------------------------------------

def test_harmless_damage_is_tolerated_and_normalised(p256: CertSet, tmp_path: Path) -> None:
    cert = p256.server.certificate_pem
    assert p256.server.private_key_pem is not None
    pkcs8 = key_pem(p256.server.private_key(), traditional=False).decode()
    damaged = ("\ufeffsubject=CN = www.example.com\n\n"  # BOM and openssl's text before BEGIN
               + "".join(f"  {line}   \r\n" for line in cert.splitlines())  # CRLF, spaces
               + "\n\n  \n")
    write(tmp_path, server_crt=damaged, server_key=pkcs8.replace("\n", "\r\n") + "\n\n")
    material = load_imported(SERVER, tmp_path, {}, now=NOW)
    assert material.certificate_pem == cert  # canonical: 64 columns, one trailing newline
    assert material.fingerprint_sha256 == p256.server.fingerprint_sha256
    assert material.private_key_pem is not None
    assert material.private_key_pem.reveal().startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert material.private_key_pem.reveal() == p256.server.private_key_pem.reveal()
    assert material.chain_pem == ""


def test_chain_from_bundle_and_chain_file(tmp_path: Path) -> None:
    root, root_key = build_cert(cn="Root", ca=True)
    inter, inter_key = build_cert(cn="Intermediate", ca=True, issuer=(root, root_key))
    leaf, leaf_key = build_cert(cn="www.example.com", issuer=(inter, inter_key),
                                ekus=SERVER_AUTH, dns=("www.example.com",))
    write(tmp_path, server_crt=cert_pem(leaf) + cert_pem(inter), server_key=key_pem(leaf_key),
          root_pem=cert_pem(root))
    spec = imported("bought", "server", "server.crt", "server.key", chain="root.pem")
    result = read_imported(spec, tmp_path, {}, now=NOW)
    assert result.problems == () and result.ok
    material = result.material()
    assert material.chain_pem == (cert_pem(inter) + cert_pem(root)).decode()


def test_glued_bundle_and_one_line_body(tmp_path: Path) -> None:
    root, root_key = build_cert(cn="Root", ca=True)
    leaf, leaf_key = build_cert(cn="www.example.com", issuer=(root, root_key),
                                ekus=SERVER_AUTH, dns=("www.example.com",))
    leaf_pem, root_pem = cert_pem(leaf).decode(), cert_pem(root).decode()
    one_line = leaf_pem.splitlines()
    one_line = f"{one_line[0]}\n{''.join(one_line[1:-1])}\n{one_line[-1]}"  # body on one line
    write(tmp_path, server_crt=one_line + root_pem.rstrip("\n"), server_key=key_pem(leaf_key))
    material = load_imported(SERVER, tmp_path, {}, now=NOW)
    assert material.certificate_pem == leaf_pem and material.chain_pem == root_pem


def test_encrypted_key_with_its_passphrase(p256: CertSet, tmp_path: Path) -> None:
    key = p256.server.private_key()
    for traditional in (False, True):  # PKCS#8 "ENCRYPTED PRIVATE KEY" and legacy Proc-Type
        write(tmp_path, server_crt=p256.server.certificate_pem,
              server_key=key_pem(key, b"s3cret", traditional=traditional))
        spec = imported("bought", "server", "server.crt", "server.key", passphrase_env="KEY_PASS")
        material = load_imported(spec, tmp_path, {"KEY_PASS": "s3cret"}, now=NOW)
        assert material.private_key_pem == p256.server.private_key_pem


# --- each refusal, with its exact message ---------------------------------------------------

def test_literal_backslash_n(p256: CertSet, tmp_path: Path) -> None:
    files = server_files(p256)
    write(tmp_path, server_crt=files["server_crt"].replace("\n", "\\n"),
          server_key=files["server_key"])
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.certificate", "literal-newline")
    assert p.message == 'server.crt contains literal "\\n" sequences instead of line breaks'
    assert p.hint == ("the PEM was probably pasted from JSON or YAML; write real line breaks "
                      "instead")
    with pytest.raises(CertificateError) as caught:
        load_imported(SERVER, tmp_path, {}, now=NOW)
    assert str(caught.value) == ('certificates.bought.files.certificate: server.crt contains '
                                 'literal "\\n" sequences instead of line breaks')


def test_literal_backslash_n_in_the_key(p256: CertSet, tmp_path: Path) -> None:
    files = server_files(p256)
    write(tmp_path, server_crt=files["server_crt"],
          server_key=files["server_key"].replace("\n", "\\n"))
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.private_key", "literal-newline")
    assert p.message == 'server.key contains literal "\\n" sequences instead of line breaks'


def test_encrypted_key_without_passphrase_source(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, server_crt=p256.server.certificate_pem,
          server_key=key_pem(p256.server.private_key(), b"s3cret"))
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.private_key", "encrypted-no-passphrase")
    assert p.message == ("server.key holds an encrypted private key, and no passphrase is "
                         "configured")
    assert p.hint == ("set files.passphrase_env to the name of an environment variable holding "
                      "the passphrase, or decrypt the key: openssl pkey -in server.key -out "
                      "server.key.plain")


def test_encrypted_key_with_unset_variable_or_wrong_passphrase(p256: CertSet,
                                                                 tmp_path: Path) -> None:
    write(tmp_path, server_crt=p256.server.certificate_pem,
          server_key=key_pem(p256.server.private_key(), b"s3cret"))
    spec = imported("bought", "server", "server.crt", "server.key", passphrase_env="KEY_PASS")
    p = only(spec, tmp_path, {})
    assert (p.field, p.code) == ("files.private_key", "passphrase-unset")
    assert p.message == ("server.key holds an encrypted private key, and environment variable "
                         "KEY_PASS (files.passphrase_env) is not set")
    p = only(spec, tmp_path, {"KEY_PASS": "wrong"})
    assert (p.field, p.code) == ("files.private_key", "wrong-passphrase")
    assert p.message == "the passphrase in KEY_PASS does not decrypt server.key"


def test_der_where_pem_is_expected(p256: CertSet, tmp_path: Path) -> None:
    cert_der = p256.server.certificate().public_bytes(serialization.Encoding.DER)
    key_der = p256.server.private_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    write(tmp_path, server_crt=cert_der, server_key=p256.server.private_key_pem.reveal())
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.certificate", "der")
    assert p.message == "server.crt is DER (binary), but a PEM certificate is expected"
    assert p.hint == "convert it: openssl x509 -inform DER -in server.crt -out server.crt.pem"
    write(tmp_path, server_crt=p256.server.certificate_pem, server_key=key_der)
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.private_key", "der")
    assert p.message == "server.key is DER (binary), but a PEM private key is expected"
    assert p.hint == "convert it: openssl pkey -inform DER -in server.key -out server.key.pem"


def test_key_does_not_match_certificate(p256: CertSet, other_ca_set: CertSet,
                                        tmp_path: Path) -> None:
    write(tmp_path, server_crt=p256.server.certificate_pem,
          server_key=other_ca_set.server.private_key_pem.reveal())
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.private_key", "key-mismatch")
    assert p.message == "server.key does not match the certificate in server.crt"
    # A key of another type is refused the same way.
    rsa_key = build_cert(cn="x", key=None)[1]
    write(tmp_path, server_key=key_pem(rsa_key))
    assert only(SERVER, tmp_path).code == "key-mismatch"


def test_chain_out_of_order(tmp_path: Path) -> None:
    root, root_key = build_cert(cn="Root", ca=True)
    inter, inter_key = build_cert(cn="Intermediate", ca=True, issuer=(root, root_key))
    leaf, leaf_key = build_cert(cn="www.example.com", issuer=(inter, inter_key))
    write(tmp_path, server_crt=cert_pem(leaf), server_key=key_pem(leaf_key),
          chain_pem=cert_pem(root) + cert_pem(inter))
    spec = imported("bought", "server", "server.crt", "server.key", chain="chain.pem")
    p = only(spec, tmp_path)
    assert (p.field, p.code) == ("files.chain", "chain-order")
    assert p.message == ('chain.pem: the chain is not in order: "www.example.com" is not issued '
                         'by the certificate after it, "Root"')
    assert p.hint == ("order the chain leaf first, then the certificate that issued it, and so "
                      "on towards the root")
    write(tmp_path, server_crt=cert_pem(leaf) + cert_pem(root) + cert_pem(inter))
    spec = imported("bought", "server", "server.crt", "server.key")
    p = only(spec, tmp_path)
    assert (p.field, p.code) == ("files.certificate", "chain-order")
    assert p.message.startswith("server.crt: the chain is not in order: ")


def test_not_yet_valid_and_expired(p256: CertSet, tmp_path: Path) -> None:
    later = datetime(2030, 6, 1, tzinfo=UTC)
    future = generate_certificate(server_spec(), p256.ca, now=later)
    write(tmp_path, server_crt=future.certificate_pem,
          server_key=future.private_key_pem.reveal())
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.certificate", "not-yet-valid")
    assert p.message == "server.crt: the certificate is not valid yet (not before " \
                        "2030-05-31T23:55:00Z)"
    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    old = generate_certificate(server_spec(validity_days=10), p256.ca, now=earlier)
    write(tmp_path, server_crt=old.certificate_pem, server_key=old.private_key_pem.reveal())
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.certificate", "expired")
    assert p.message == "server.crt: the certificate expired on 2020-01-11T00:00:00Z"


def test_expired_chain_certificate(tmp_path: Path) -> None:
    root, root_key = build_cert(cn="Old Root", ca=True,
                                not_before=NOW - timedelta(days=40), days=30)
    leaf, leaf_key = build_cert(cn="www.example.com", issuer=(root, root_key),
                                ekus=None, dns=("www.example.com",))
    write(tmp_path, server_crt=cert_pem(leaf) + cert_pem(root), server_key=key_pem(leaf_key))
    p = only(SERVER, tmp_path)
    assert p.code == "expired"
    assert p.message.startswith('server.crt: chain certificate "Old Root" expired on ')


def test_eku_does_not_fit_the_declared_type(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, client_crt=p256.client.certificate_pem,
          client_key=p256.client.private_key_pem.reveal())
    spec = imported("bought", "server", "client.crt", "client.key")
    p = only(spec, tmp_path)
    assert (p.field, p.code) == ("files.certificate", "eku-mismatch")
    assert p.message == ("client.crt: the certificate's extended key usage (clientAuth) does "
                         "not include serverAuth, which a server certificate needs")
    write(tmp_path, server_crt=p256.server.certificate_pem)
    p = only(imported("bought", "client", "server.crt"), tmp_path)
    assert p.message == ("server.crt: the certificate's extended key usage (serverAuth) does "
                         "not include clientAuth, which a client certificate needs")


def test_ca_declared_but_not_a_ca_and_the_reverse(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, server_crt=p256.server.certificate_pem, ca_crt=p256.ca.certificate_pem,
          ca_key=p256.ca.private_key_pem.reveal())
    p = only(imported("theca", "ca", "server.crt"), tmp_path)
    assert (p.field, p.code) == ("files.certificate", "not-a-ca")
    assert p.message == ("server.crt is not a CA certificate (it lacks basicConstraints "
                         "CA:TRUE), but the stack declares type: ca")
    p = only(imported("bought", "server", "ca.crt", "ca.key"), tmp_path)
    assert (p.field, p.code) == ("files.certificate", "is-a-ca")
    assert p.message == "ca.crt is a CA certificate, but the stack declares type: server"
    assert problems(imported("theca", "ca", "ca.crt"), tmp_path) == []


def test_unreadable_files(tmp_path: Path) -> None:
    p = only(imported("bought", "client", "missing.crt"), tmp_path)
    assert (p.field, p.code) == ("files.certificate", "unreadable")
    assert p.message == "cannot read missing.crt: No such file or directory"
    assert p.hint == "check the path; relative paths start at the stack file's directory"
    (tmp_path / "adir").mkdir()
    p = only(imported("bought", "client", "adir"), tmp_path)
    assert p.message == "cannot read adir: Is a directory"


def test_empty_garbage_csr_and_swapped_files(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, empty_crt="\n  \n", notes_txt="hello\n",
          req_pem="-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
          server_crt=p256.server.certificate_pem, server_key=p256.server.private_key_pem.reveal())
    p = only(imported("bought", "client", "empty.crt"), tmp_path)
    assert (p.code, p.message) == ("empty", "empty.crt is empty")
    p = only(imported("bought", "client", "notes.txt"), tmp_path)
    assert (p.code, p.message) == ("no-pem", "notes.txt holds no PEM certificate")
    assert p.hint == 'expected a "-----BEGIN CERTIFICATE-----" block'
    p = only(imported("bought", "client", "req.pem"), tmp_path)
    assert p.message == "req.pem holds no PEM certificate"
    assert p.hint == ('expected a "-----BEGIN CERTIFICATE-----" block; it holds: CERTIFICATE '
                      'REQUEST (a certificate signing request is not a certificate)')
    swapped = imported("bought", "server", "server.key", "server.crt")
    found = problems(swapped, tmp_path)
    assert [(p.field, p.message) for p in found] == [
        ("files.certificate", "server.key holds no PEM certificate"),
        ("files.private_key", "server.crt holds no PEM private key"),
    ]
    assert found[1].hint == 'expected a "-----BEGIN PRIVATE KEY-----" block; it holds: CERTIFICATE'


def test_damaged_pem(p256: CertSet, tmp_path: Path) -> None:
    cert = p256.server.certificate_pem
    lines = cert.splitlines()
    write(tmp_path, cut_crt="\n".join(lines[:-1]) + "\n",
          bad_crt=cert.replace(lines[2], "!" * len(lines[2])),
          junk_crt="-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
          badkey_pem="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
          server_crt=cert)
    p = only(imported("b", "client", "cut.crt"), tmp_path)
    assert (p.code, p.message) == ("unterminated", 'cut.crt: the "CERTIFICATE" block at line 1 '
                                                   'has no matching "-----END CERTIFICATE-----" '
                                                   'line')
    p = only(imported("b", "client", "bad.crt"), tmp_path)
    assert (p.code, p.message) == ("bad-base64", "bad.crt: the CERTIFICATE block at line 1 is "
                                                 "not valid base64")
    p = only(imported("b", "client", "junk.crt"), tmp_path)
    assert p.code == "bad-certificate"
    assert p.message.startswith("junk.crt: the certificate at line 1 cannot be parsed (")
    p = only(imported("b", "server", "server.crt", "badkey.pem"), tmp_path)
    assert (p.field, p.code) == ("files.private_key", "bad-key")
    assert p.message == "badkey.pem: the private key at line 1 cannot be parsed"


def test_malformed_extension(tmp_path: Path) -> None:
    # An empty extendedKeyUsage is invalid DER: refused when read, not later in a check.
    leaf, _ = build_cert(cn="www.example.com", ekus=[])
    write(tmp_path, bad_crt=cert_pem(leaf))
    p = only(imported("b", "client", "bad.crt"), tmp_path)
    assert (p.field, p.code) == ("files.certificate", "bad-certificate")
    assert p.message.startswith("bad.crt: the certificate at line 1 cannot be parsed (error "
                                "parsing asn1 value")


def test_two_keys_in_one_file(p256: CertSet, tmp_path: Path) -> None:
    key = p256.server.private_key_pem.reveal()
    write(tmp_path, server_crt=p256.server.certificate_pem, server_key=key + key)
    p = only(SERVER, tmp_path)
    assert (p.field, p.code) == ("files.private_key", "many-keys")
    assert p.message == "server.key holds 2 private keys; expected one"


def test_server_without_private_key(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, server_crt=p256.server.certificate_pem)
    p = only(imported("bought", "server", "server.crt"), tmp_path)
    assert (p.field, p.code) == ("files", "key-missing")
    assert p.message == "an imported server certificate needs files.private_key"
    # A client CA needs no key; a client certificate may come without one (not uploaded).
    write(tmp_path, ca_crt=p256.ca.certificate_pem, client_crt=p256.client.certificate_pem)
    assert problems(imported("theca", "ca", "ca.crt"), tmp_path) == []
    assert problems(imported("c", "client", "client.crt"), tmp_path) == []


def test_generated_material_reimported_is_identical(key_set: CertSet, tmp_path: Path) -> None:
    write(tmp_path, server_crt=key_set.server.certificate_pem,
          server_key=key_set.server.private_key_pem.reveal())
    assert load_imported(SERVER, tmp_path, {}, now=NOW) == key_set.server
    spec = imported("theca", "ca", "ca.pem")
    write(tmp_path, ca_pem=key_set.ca.certificate_pem)
    assert load_imported(spec, tmp_path, {}).fingerprint_sha256 == key_set.ca.fingerprint_sha256
