"""SNI: per-domain certificates and client CAs on one port, one-way next to mutual."""

import socket
import ssl

import pytest

from mtlsform.emulator.dataplane import DataPlaneConfig, ListenerConfig, RouteConfig
from mtlsform.emulator.dataplane.config import HealthCheckConfig
from tests.dataplane.pki import make_ca, make_leaf, policy
from tests.dataplane.support import (
    client_context,
    curl,
    eventually,
    https_request,
    sni_connection,
)

A, B, OPEN = "a.example.com", "b.example.com", "open.example.com"


@pytest.fixture(scope="module")
def sni_pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sni")
    ca_a, ca_b, public = make_ca("CA A"), make_ca("CA B"), make_ca("Public CA")
    certs = {
        "server_a": make_leaf(ca_a, A, dns=(A,), usage="server"),
        "server_b": make_leaf(ca_b, B, dns=(B,), usage="server"),
        "server_open": make_leaf(public, OPEN, dns=(OPEN,), usage="server"),
        "client_a": make_leaf(ca_a, "client-a"),
        "client_b": make_leaf(ca_b, "client-b"),
    }
    for name, issued in certs.items():
        issued.write(folder, name)
    roots = folder / "roots.crt"
    roots.write_text(ca_a.cert_pem + ca_b.cert_pem + public.cert_pem)
    return {"folder": folder, "roots": roots, "ca_a": ca_a, "ca_b": ca_b, **certs}


@pytest.fixture
def sni_plane(site, sni_pki, start_plane):
    off = HealthCheckConfig(enabled=False)
    targets = site.targets((10, 10))
    routes = (
        RouteConfig("loc-a", (A,), "/", targets=targets, health_check=off,
                    tls=policy(sni_pki["server_a"], sni_pki["ca_a"]), default_server=True),
        RouteConfig("loc-b", (B,), "/", targets=targets, health_check=off,
                    tls=policy(sni_pki["server_b"], sni_pki["ca_b"])),
        RouteConfig("loc-open", (OPEN,), "/", targets=targets, health_check=off,
                    tls=policy(sni_pki["server_open"])),
    )
    listener = ListenerConfig("lbl-sni", "lb-main", site.vip, 443, sni=True, routes=routes)
    plane = start_plane(DataPlaneConfig((listener,), (site.rs1, site.rs2)))
    endpoint = plane.endpoint("lbl-sni")
    return plane, endpoint.host, endpoint.bound_port


def files(sni_pki, name):
    return (sni_pki["folder"] / f"{name}.crt", sni_pki["folder"] / f"{name}.key")


def presented_certificate(address: str, port: int, server_name: str | None, roots) -> str:
    context = ssl.create_default_context(cafile=str(roots))
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=server_name) as tls:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        return cert.subject.rfc4514_string()


def test_each_domain_presents_its_own_certificate(sni_plane, sni_pki):
    _plane, address, port = sni_plane
    roots = sni_pki["roots"]
    assert f"CN={A}" in presented_certificate(address, port, A, roots)
    assert f"CN={B}" in presented_certificate(address, port, B, roots)
    assert f"CN={OPEN}" in presented_certificate(address, port, OPEN, roots)
    # no SNI (an IP literal) and an unknown name get the default domain's certificate
    assert f"CN={A}" in presented_certificate(address, port, None, roots)
    assert f"CN={A}" in presented_certificate(address, port, "unknown.example.com", roots)


def test_each_domain_checks_its_own_client_ca(sni_plane, sni_pki):
    plane, address, port = sni_plane
    roots = sni_pki["roots"]
    ok_a = curl(A, address, port, ca_file=roots, cert_files=files(sni_pki, "client_a"))
    ok_b = curl(B, address, port, ca_file=roots, cert_files=files(sni_pki, "client_b"))
    assert ok_a.returncode == ok_b.returncode == 0, (ok_a.stderr, ok_b.stderr)
    assert "x-client-cert-subject: CN=client-a" in ok_a.stdout
    assert "x-client-cert-subject: CN=client-b" in ok_b.stdout
    crossed = curl(B, address, port, ca_file=roots, cert_files=files(sni_pki, "client_a"))
    assert crossed.returncode == 56 and "unknown ca" in crossed.stderr
    missing = curl(A, address, port, ca_file=roots)
    assert missing.returncode == 56 and "certificate required" in missing.stderr
    eventually(lambda: len(plane.handshake_failures()) == 2)
    assert [(r.server_name, r.reason) for r in plane.handshake_failures()] == [
        (B, "unknown-ca"), (A, "no-client-certificate")]


def test_one_way_domain_accepts_no_client_certificate_next_to_mutual_ones(sni_plane, sni_pki):
    plane, address, port = sni_plane
    result = curl(OPEN, address, port, ca_file=sni_pki["roots"])
    assert result.returncode == 0, result.stderr
    assert "x-client-verify: NONE" in result.stdout
    assert plane.handshake_failures() == []


def test_a_mutual_host_behind_a_one_way_server_name_is_misdirected(sni_plane, sni_pki):
    _plane, address, port = sni_plane
    context = client_context(sni_pki["ca_a"].cert_pem)
    context.load_verify_locations(cafile=str(sni_pki["roots"]))
    conn = sni_connection(address, port, context=context, host=OPEN)
    reply = https_request(address, port, connection=conn, headers={"Host": A})
    assert reply.status == 421
    conn.close()
