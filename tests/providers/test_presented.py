"""presented_certificate: the SHA-256 of the leaf a real TLS handshake to a listener's VIP and
port gets, through the emulator's data plane; None where no data plane can be reached."""

from __future__ import annotations

import hashlib
import ssl

from mtlsform.emulator.dataplane import open_data_plane
from mtlsform.providers.base import CertificateBinding, ListenerSpec, LoadBalancerSpec
from mtlsform.providers.tencentcloud import connect
from mtlsform.providers.tencentcloud.presented import presented_fingerprint
from mtlsform.sensitive import Sensitive
from tests.providers.certs import Pki
from tests.providers.conftest import Cloud


def fingerprint(pem: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def test_a_handshake_to_the_data_plane_gets_the_listener_certificate(cloud: Cloud,
                                                                     pki: Pki) -> None:
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="web")).id
    ca = p.upload_certificate("CA", pki.ca_pem, None, "ca").id
    www = p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.server_key_pem), "www").id
    api = p.upload_certificate("SVR", pki.other_server_pem,
                               Sensitive(pki.other_server_key_pem), "api").id
    listener = p.create_listener(lb, ListenerSpec(  # mutual TLS: we send no certificate
        name="https", protocol="HTTPS", port=443,
        certificate=CertificateBinding("MUTUAL", www, ca)))
    # the embedded emulator runs no data plane: nothing can be reached
    assert p.presented_certificate(lb, listener, 443, "www.example.com") is None

    context = cloud.context
    assert context.emulator is not None and context.settings and context.credentials
    plane = open_data_plane(context.emulator.world, listener_ids={listener},
                            find_free_ports=True)
    reaching = connect(context.settings, context.credentials,
                       data_plane_offset=plane.port_offset)
    try:
        assert reaching.presented_certificate(lb, listener, 443, "www.example.com") \
            == fingerprint(pki.server_pem)
        p.modify_listener(lb, listener, certificate=CertificateBinding("MUTUAL", api, ca))
        plane.sync()  # the data plane follows the world shortly after a change; now at once
        assert reaching.presented_certificate(lb, listener, 443, None) \
            == fingerprint(pki.other_server_pem)
        assert reaching.presented_certificate(lb, listener, 444, None) is None  # no listener
        assert reaching.presented_certificate("lb-0000gone", listener, 443, None) is None
    finally:
        reaching.close()
        plane.stop()


def test_nothing_listening_is_not_reached() -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused
        assert presented_fingerprint("127.0.0.1", port, "www.example.com") is None
