"""Real mutual-TLS handshakes on loopback with curl and Python clients."""

import logging
import ssl

import pytest

from tests.dataplane.pki import policy
from tests.dataplane.support import (
    DOMAIN,
    client_context,
    count_backends,
    curl,
    eventually,
    https_request,
    sni_connection,
)

LOGGER = "mtlsform.emulator.dataplane"


@pytest.fixture
def mutual(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca)))
    endpoint = plane.endpoint("lbl-main")
    return plane, endpoint.host, endpoint.bound_port


def test_curl_with_client_certificate_alternates_between_backends(mutual, pki):
    plane, address, port = mutual
    names = []
    for _ in range(6):
        result = curl(DOMAIN, address, port, ca_file=pki.ca_file, cert_files=pki.files("client"))
        assert result.returncode == 0, result.stderr
        names.append(result.stdout.splitlines()[0])
    assert names == ["rs-1", "rs-2"] * 3
    body = curl(DOMAIN, address, port, ca_file=pki.ca_file,
                cert_files=pki.files("client")).stdout
    assert "x-client-verify: SUCCESS" in body
    assert f"x-client-cert-fingerprint: {pki.client.fingerprint}" in body
    assert "x-client-cert-subject: CN=client-1,O=mtlsform tests" in body
    assert "x-forwarded-proto: https" in body
    assert "x-forwarded-for: 127.0.0.1" in body
    assert plane.handshake_failures() == []


def test_weights_30_10_give_exactly_3_to_1_over_40_requests(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca), weights=(30, 10)))
    endpoint = plane.endpoint("lbl-main")
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    replies = [https_request(endpoint.host, endpoint.bound_port, context=context)
               for _ in range(40)]
    assert {reply.status for reply in replies} == {200}
    assert count_backends(replies) == {"rs-1": 30, "rs-2": 10}


# curl 7.88 / OpenSSL 3.0 over TLS 1.3: the client finishes its side of the handshake, then
# reads the server's alert: exit code 56 with the alert's name.
REFUSALS = [
    (None, "no-client-certificate", "no client certificate", "alert certificate required"),
    ("other_client", "unknown-ca", "unknown CA", "alert unknown ca"),
    ("expired", "expired", "expired client certificate", "alert certificate expired"),
    ("server_only", "wrong-key-usage", "wrong key usage", "alert unsupported certificate"),
]


@pytest.mark.parametrize(("cert", "reason", "logged", "alert"), REFUSALS)
def test_curl_refusals_are_handshake_failures_logged_with_their_reason(
        mutual, pki, caplog, cert, reason, logged, alert):
    plane, address, port = mutual
    caplog.set_level(logging.WARNING, logger=LOGGER)
    result = curl(DOMAIN, address, port, ca_file=pki.ca_file,
                  cert_files=pki.files(cert) if cert else None)
    assert result.returncode == 56, (result.returncode, result.stderr)
    assert alert in result.stderr
    assert result.stdout == ""
    eventually(lambda: len(plane.handshake_failures()) == 1)
    record = plane.handshake_failures()[0]
    assert (record.reason, record.listener_id, record.server_name) == (reason, "lbl-main", DOMAIN)
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert any("handshake refused on lbl-main" in m and logged in m for m in messages), messages


# What a Python (OpenSSL 3.0) client reads, by TLS version: the alert the server sent.
PYTHON_ALERTS = {
    "no-client-certificate": ("TLSV13_ALERT_CERTIFICATE_REQUIRED",
                              "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "unknown-ca": ("TLSV1_ALERT_UNKNOWN_CA", "TLSV1_ALERT_UNKNOWN_CA"),
    "expired": ("SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_CERTIFICATE_EXPIRED"),
    "wrong-key-usage": ("SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
                        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE"),
}


@pytest.mark.parametrize("tls12", [False, True], ids=["tls1.3", "tls1.2"])
@pytest.mark.parametrize(("cert", "reason"), [(c, r) for c, r, _, _ in REFUSALS])
def test_python_client_refusals(mutual, pki, cert, reason, tls12):
    plane, address, port = mutual
    context = client_context(pki.ca.cert_pem, pki.files(cert) if cert else None)
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    conn = sni_connection(address, port, context=context)
    with pytest.raises(ssl.SSLError) as caught:
        https_request(address, port, connection=conn)
    conn.close()
    assert caught.value.reason == PYTHON_ALERTS[reason][tls12]
    eventually(lambda: len(plane.handshake_failures()) == 1)
    assert plane.handshake_failures()[0].reason == reason


def test_plain_http_to_the_https_port_gets_a_clear_400(mutual):
    import http.client

    plane, address, port = mutual
    conn = http.client.HTTPConnection(address, port, timeout=10)
    conn.request("GET", "/", headers={"Host": DOMAIN})
    response = conn.getresponse()
    assert response.status == 400
    assert "HTTPS port" in response.read().decode()
    conn.close()
    assert plane.handshake_failures()[0].reason == "not-tls"


def test_one_way_listener_needs_no_client_certificate(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server)))
    endpoint = plane.endpoint("lbl-main")
    result = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "rs-1"
    assert "x-client-verify: NONE" in result.stdout
    assert "x-client-cert-fingerprint" not in result.stdout


def test_optional_verification_accepts_no_certificate_but_refuses_a_bad_one(site, pki,
                                                                            start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca, verify_client="OPTIONAL")))
    endpoint = plane.endpoint("lbl-main")
    anonymous = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file)
    assert anonymous.returncode == 0 and "x-client-verify: NONE" in anonymous.stdout
    verified = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                    cert_files=pki.files("client"))
    assert "x-client-verify: SUCCESS" in verified.stdout
    intruder = curl(DOMAIN, endpoint.host, endpoint.bound_port, ca_file=pki.ca_file,
                    cert_files=pki.files("other_client"))
    assert intruder.returncode == 56
    assert [r.reason for r in plane.handshake_failures()] == ["unknown-ca"]


def test_a_client_ca_bundle_trusts_the_clients_of_each_of_its_roots(site, pki, start_plane):
    """The trust of a rollover's middle stage: a CA upload holding the old and the new root."""
    from dataclasses import replace

    both = replace(policy(pki.server, pki.ca),
                   client_ca_pem=pki.ca.cert_pem.strip() + "\n" + pki.other_ca.cert_pem)
    plane = start_plane(site.config(both))
    endpoint = plane.endpoint("lbl-main")
    for client, subject in (("client", "CN=client-1"), ("other_client", "CN=intruder")):
        context = client_context(pki.ca.cert_pem, pki.files(client))
        reply = https_request(endpoint.host, endpoint.bound_port, context=context)
        assert reply.status == 200 and subject in reply.body, (client, reply)
    plane.update(site.config(policy(pki.server, pki.other_ca)))  # the old root retired
    with pytest.raises(ssl.SSLError) as refused:
        https_request(endpoint.host, endpoint.bound_port,
                      context=client_context(pki.ca.cert_pem, pki.files("client")))
    assert refused.value.reason == "TLSV1_ALERT_UNKNOWN_CA"
