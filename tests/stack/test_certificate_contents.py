"""check_certificates: each check's exact message, severity and stack position."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mtlsform.diagnostics import Diagnostic
from mtlsform.stack.checks.contents import check_certificates
from mtlsform.stack.model import Subject
from tests.pki.builders import (
    ANCHOR,
    CLIENT_AUTH,
    SERVER_AUTH,
    STACK_FILE,
    CertSet,
    build_cert,
    ca_spec,
    cert_pem,
    client_spec,
    imported,
    key_pem,
    listener_tls,
    make_stack,
    pos,
    server_spec,
)

NOW = ANCHOR  # the instant the test certificates are dated from
# make_stack puts certificate i at line 10*(i+1); its fields follow (see FIELD_LINES).
CERTIFICATE, CHAIN, COMMON_NAME, VALIDITY = 2, 4, 5, 7


def at(index: int, offset: int):
    return pos(10 * (index + 1) + offset)


def write(directory: Path, name: str, data: bytes | str) -> str:
    (directory / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return name


def only(diags: list[Diagnostic]) -> Diagnostic:
    assert len(diags) == 1, [d.format() for d in diags]
    return diags[0]


def test_a_sound_stack_has_no_diagnostics(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, "bought.crt", p256.server.certificate_pem)
    write(tmp_path, "bought.key", p256.server.private_key_pem.reveal())
    stack = make_stack(tmp_path, [
        ca_spec(), server_spec(), client_spec(),
        imported("bought", "server", "bought.crt", "bought.key"),
    ], [listener_tls("server"), listener_tls("bought", name="other")])
    assert check_certificates(stack, now=NOW) == []


def test_import_problems_are_reported_at_their_files_key(p256: CertSet, tmp_path: Path) -> None:
    der = p256.server.certificate().public_bytes(__import__(
        "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    write(tmp_path, "server.der", der)
    write(tmp_path, "server.key", p256.server.private_key_pem.reveal())
    stack = make_stack(tmp_path, [ca_spec(), imported("bought", "server", "server.der",
                                                      "server.key")])
    d = only(check_certificates(stack, now=NOW))
    assert d.format() == (
        f"{STACK_FILE}:22:5: error: certificates.bought.files.certificate: server.der is DER "
        "(binary), but a PEM certificate is expected (hint: convert it: openssl x509 -inform "
        "DER -in server.der -out server.der.pem)")
    assert d.position == at(1, CERTIFICATE)


def test_encrypted_key_without_passphrase_is_reported_at_private_key(
        p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, "s.crt", p256.server.certificate_pem)
    write(tmp_path, "s.key", key_pem(p256.server.private_key(), b"pw"))
    stack = make_stack(tmp_path, [imported("bought", "server", "s.crt", "s.key")])
    d = only(check_certificates(stack, now=NOW))
    assert (d.severity, d.path, d.position) == ("error", "certificates.bought.files.private_key",
                                                at(0, 3))
    assert d.message == "s.key holds an encrypted private key, and no passphrase is configured"
    # With the passphrase in the environment the stack is fine.
    spec = imported("bought", "server", "s.crt", "s.key", passphrase_env="PW")
    stack = make_stack(tmp_path, [spec])
    assert check_certificates(stack, now=NOW, environ={"PW": "pw"}) == []


def test_ca_common_name_equal_to_a_leaf_common_name_generated(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, [ca_spec(cn="Example"), server_spec(cn="Example",
                                                                        dns_names=("a.b",))])
    d = only(check_certificates(stack, now=NOW))
    assert (d.severity, d.path, d.position) == (
        "error", "certificates.server.subject.common_name", at(1, COMMON_NAME))
    assert d.message == "common name 'Example' is also the common name of CA certificate 'ca'"
    assert d.hint == ('give the CA a distinct name (e.g. ending in "CA"): a certificate whose '
                      "subject matches its issuer's looks self-signed, and clients refuse it")


def test_ca_common_name_equal_to_a_leaf_common_name_imported(tmp_path: Path) -> None:
    root, root_key = build_cert(cn="acme", ca=True)
    leaf, _ = build_cert(cn="acme", issuer=(root, root_key), ekus=CLIENT_AUTH)
    write(tmp_path, "root.crt", cert_pem(root))
    write(tmp_path, "leaf.crt", cert_pem(leaf))
    stack = make_stack(tmp_path, [imported("root", "ca", "root.crt"),
                                  imported("leaf", "client", "leaf.crt")])
    d = only(check_certificates(stack, now=NOW))
    assert (d.path, d.position) == ("certificates.leaf.files.certificate", at(1, CERTIFICATE))
    assert d.message == "common name 'acme' is also the common name of CA certificate 'root'"
    # Without its CA in the stack, the certificate's own issuer name gives it away.
    stack = make_stack(tmp_path, [imported("leaf", "client", "leaf.crt")])
    d = only(check_certificates(stack, now=NOW))
    assert d.message == "common name 'acme' is also the common name of the certificate's issuer"


def test_server_certificate_without_server_auth_on_a_listener(tmp_path: Path) -> None:
    leaf, key = build_cert(cn="www.example.com", ekus=None, dns=("www.example.com",))
    write(tmp_path, "s.crt", cert_pem(leaf))
    write(tmp_path, "s.key", key_pem(key))
    unused = make_stack(tmp_path, [imported("bought", "server", "s.crt", "s.key")])
    assert check_certificates(unused, now=NOW) == []
    stack = make_stack(tmp_path, [imported("bought", "server", "s.crt", "s.key")],
                       [listener_tls("bought", client_ca=None)])
    d = only(check_certificates(stack, now=NOW))
    assert (d.severity, d.path, d.position) == ("error", "listeners.https.tls.certificate",
                                                pos(101, 20))
    assert d.message == ("listener 'https' uses certificate 'bought', which has no serverAuth "
                         "extended key usage")


def test_client_ca_that_is_not_a_ca(p256: CertSet, tmp_path: Path) -> None:
    write(tmp_path, "ca.crt", p256.client.certificate_pem)
    stack = make_stack(tmp_path, [imported("ca", "ca", "ca.crt"), server_spec(issuer=None)],
                       [listener_tls("server", client_ca="ca")])
    diags = [d for d in check_certificates(stack, now=NOW) if d.path.startswith("certificates.ca")]
    d = only(diags)
    assert (d.severity, d.path, d.position) == ("error", "certificates.ca.files.certificate",
                                                at(0, CERTIFICATE))
    assert d.message == ("ca.crt is not a CA certificate (it lacks basicConstraints CA:TRUE), "
                         "but the stack declares type: ca")
    assert d.hint == ("listener 'https' uses it as client_ca: the load balancer could not "
                      "verify client certificates with it")


def test_imported_certificate_expired_or_within_renew_before_days(
        p256: CertSet, tmp_path: Path) -> None:
    leaf, key = build_cert(cn="www.example.com", ekus=SERVER_AUTH, dns=("www.example.com",),
                           not_before=NOW - timedelta(days=10), days=30)
    write(tmp_path, "s.crt", cert_pem(leaf))
    write(tmp_path, "s.key", key_pem(key))
    stack = make_stack(tmp_path, [imported("bought", "server", "s.crt", "s.key")])
    d = only(check_certificates(stack, now=NOW))
    expires = leaf.not_valid_after_utc
    assert (d.severity, d.path, d.position) == ("warning", "certificates.bought.files.certificate",
                                                at(0, CERTIFICATE))
    assert d.message == (f"the certificate expires on {expires:%Y-%m-%d} "
                         f"({(expires - NOW).days} days left), within renew_before_days (30)")
    short = make_stack(tmp_path, [imported("bought", "server", "s.crt", "s.key",
                                           renew_before_days=7)])
    assert check_certificates(short, now=NOW) == []
    d = only(check_certificates(stack, now=NOW + timedelta(days=25)))
    assert d.severity == "error"
    assert d.message == f"s.crt: the certificate expired on {expires:%Y-%m-%dT%H:%M:%SZ}"


def test_rsa_below_2048_bits(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(65537, 1024)
    ca, ca_key = build_cert(cn="Weak CA", ca=True, key=weak)
    leaf, _ = build_cert(cn="client-1", issuer=(ca, ca_key), ekus=CLIENT_AUTH)
    write(tmp_path, "weak.crt", cert_pem(ca))
    write(tmp_path, "leaf.crt", cert_pem(leaf))
    stack = make_stack(tmp_path, [imported("weak", "ca", "weak.crt")])
    d = only(check_certificates(stack, now=NOW))
    assert (d.severity, d.path, d.position) == ("error", "certificates.weak.files.certificate",
                                                at(0, CERTIFICATE))
    assert d.message == "the certificate has a 1024-bit RSA key; at least 2048 bits are required"
    stack = make_stack(tmp_path, [imported("c", "client", "leaf.crt", chain="weak.crt")])
    d = only(check_certificates(stack, now=NOW))
    assert (d.path, d.position) == ("certificates.c.files.chain", at(0, CHAIN))
    assert d.message == ('chain certificate "Weak CA" has a 1024-bit RSA key; at least 2048 '
                         "bits are required")


def test_ed25519_is_refused(tmp_path: Path) -> None:
    leaf, key = build_cert(cn="www.example.com", key=ed25519.Ed25519PrivateKey.generate(),
                           ekus=SERVER_AUTH, dns=("www.example.com",))
    write(tmp_path, "ed.crt", cert_pem(leaf))
    write(tmp_path, "ed.key", key_pem(key))
    stack = make_stack(tmp_path, [imported("ed", "server", "ed.crt", "ed.key")])
    d = only(check_certificates(stack, now=NOW))
    assert (d.severity, d.path) == ("error", "certificates.ed.files.certificate")
    assert d.message == ("the certificate has an Ed25519 key, which Tencent Cloud CLB does not "
                         "accept (RSA and ECDSA only)")


def test_server_validity_longer_than_397_days(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, [ca_spec(), server_spec(validity_days=825)])
    d = only(check_certificates(stack, now=NOW))
    assert (d.severity, d.path, d.position) == ("warning", "certificates.server.validity_days",
                                                at(1, VALIDITY))
    assert d.message == ("server certificate valid for 825 days: Apple devices refuse TLS server "
                         "certificates valid for more than 825 days, and public CAs stop at 398")
    assert d.hint == "use 397 days or less"
    assert check_certificates(make_stack(tmp_path, [ca_spec(), server_spec(validity_days=397)]),
                              now=NOW) == []
    leaf, key = build_cert(cn="www.example.com", ekus=SERVER_AUTH, dns=("www.example.com",),
                           days=800)
    write(tmp_path, "long.crt", cert_pem(leaf))
    write(tmp_path, "long.key", key_pem(key))
    # An imported certificate's lifetime is what was issued: no warning the user cannot act on.
    assert check_certificates(make_stack(tmp_path, [imported("b", "server", "long.crt",
                                                             "long.key")]), now=NOW) == []


def test_server_that_would_have_no_san(tmp_path: Path) -> None:
    spec = replace(server_spec(dns_names=(), ip_addresses=()), subject=Subject("My Server"))
    d = only(check_certificates(make_stack(tmp_path, [ca_spec(), spec]), now=NOW))
    assert (d.severity, d.path, d.position) == ("error", "certificates.server.subject.common_name",
                                                at(1, COMMON_NAME))
    assert d.message == ("server certificate 'server' would have no subject alternative name: "
                         "its common name 'My Server' is not a DNS name or IP address, and "
                         "dns_names and ip_addresses are empty")
