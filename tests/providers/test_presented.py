"""presented_certificate: the SHA-256 of the leaf a real TLS handshake gets, through the
emulator's data plane: the embedded emulator's own (started at the first check, stopped with
the provider), or one serving the world at the VIP and a port offset; None where no data
plane can be reached."""

from __future__ import annotations

import hashlib
import logging
import ssl
import time
from pathlib import Path

import pytest

from mtlsform.emulator import environment
from mtlsform.emulator.dataplane import open_data_plane
from mtlsform.providers.base import CertificateBinding, ListenerSpec, LoadBalancerSpec, RuleSpec
from mtlsform.providers.tencentcloud import connect
from mtlsform.providers.tencentcloud.presented import FOLLOW_WAIT, presented_fingerprint
from mtlsform.sensitive import Sensitive
from tests.leaks import dataplane_threads, listening_sockets
from tests.providers.certs import Pki
from tests.providers.conftest import Cloud, emulated


def fingerprint(pem: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def _mutual_listener(p, pki: Pki) -> tuple[str, str, str, str, str]:
    """A CLB with a mutual-TLS HTTPS listener on www's upload: (lb, listener, ca, www, api)."""
    lb = p.create_load_balancer(LoadBalancerSpec(name="web")).id
    ca = p.upload_certificate("CA", pki.ca_pem, None, "ca").id
    www = p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.server_key_pem), "www").id
    api = p.upload_certificate("SVR", pki.other_server_pem,
                               Sensitive(pki.other_server_key_pem), "api").id
    listener = p.create_listener(lb, ListenerSpec(  # mutual TLS: we send no certificate
        name="https", protocol="HTTPS", port=443,
        certificate=CertificateBinding("MUTUAL", www, ca)))
    return lb, listener, ca, www, api


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "handshake refused" in r.getMessage()]


def test_the_embedded_emulator_presents_what_its_world_binds_at_once(
        tmp_path: Path, environ: dict[str, str], pki: Pki,
        caplog: pytest.LogCaptureFixture) -> None:
    """No data plane runs until the first check; then one, in this process, serving what the
    world binds now (no wait: the answer is final), stopped with the provider, leaving no
    listening socket and no thread behind. Its refusals of our certificate-less handshakes
    are no warnings (they would reach the terminal of an apply)."""
    caplog.set_level(logging.DEBUG, logger="mtlsform.emulator.dataplane")
    sockets, threads = listening_sockets(), dataplane_threads()
    with emulated(tmp_path, environ) as cloud:
        p = cloud.provider
        lb, listener, ca, www, api = _mutual_listener(p, pki)
        assert p.presentation_wait() == 0.0
        assert dataplane_threads() == threads  # nothing started before a check
        assert p.presented_certificate(lb, listener, 443, "www.example.com") \
            == fingerprint(pki.server_pem)
        p.modify_listener(lb, listener, certificate=CertificateBinding("MUTUAL", api, ca))
        assert p.presented_certificate(lb, listener, 443, None) \
            == fingerprint(pki.other_server_pem)
        assert p.presented_certificate(lb, "lbl-0000gone", 443, None) is None
        assert len(dataplane_threads()) == len(threads) + 1  # one data plane for every check

        sni = p.create_listener(lb, ListenerSpec(name="sni", protocol="HTTPS", port=8443,
                                                 sni=True))
        p.create_rule(lb, sni, RuleSpec(domain="www.example.com", url="/",
                                        certificate=CertificateBinding("UNIDIRECTIONAL", www)))
        p.create_rule(lb, sni, RuleSpec(domain="api.example.com", url="/",
                                        certificate=CertificateBinding("MUTUAL", api, ca)))
        assert p.presented_certificate(lb, sni, 8443, "api.example.com") \
            == fingerprint(pki.other_server_pem)
        assert p.presented_certificate(lb, sni, 8443, "www.example.com") \
            == fingerprint(pki.server_pem)
        p.modify_domain_certificate(lb, sni, "www.example.com",
                                    CertificateBinding("UNIDIRECTIONAL", api))
        assert p.presented_certificate(lb, sni, 8443, "www.example.com") \
            == fingerprint(pki.other_server_pem)
        # the first listener is still served beside the second one
        assert p.presented_certificate(lb, listener, 443, None) \
            == fingerprint(pki.other_server_pem)
        assert len(dataplane_threads()) == len(threads) + 1
        # The data plane refuses a certificate-less client after the client has read the
        # server's certificate (TLS 1.3 verifies the client last), so the last refusal may be
        # logged a moment after the check returned: wait for it, boundedly.
        deadline = time.monotonic() + 10
        while len(refusals(caplog)) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert dataplane_threads() == threads
    assert listening_sockets() == sockets
    refused = refusals(caplog)
    assert len(refused) == 4, refused  # the mutual-TLS entries' handshakes, one each
    assert {r.levelno for r in refused} == {logging.DEBUG}


def test_a_frozen_embedded_data_plane_presents_the_world_as_the_provider_found_it(
        tmp_path: Path, environ: dict[str, str], pki: Pki) -> None:
    with emulated(tmp_path, environ) as cloud:
        lb, listener, ca, _www, api = _mutual_listener(cloud.provider, pki)
    frozen = {**environ, environment.DATA_PLANE_FROZEN: "1"}
    with emulated(tmp_path, frozen) as cloud:
        p = cloud.provider
        p.modify_listener(lb, listener, certificate=CertificateBinding("MUTUAL", api, ca))
        assert p.presented_certificate(lb, listener, 443, None) == fingerprint(pki.server_pem)


def test_a_served_data_plane_is_reached_at_the_vip_and_offset(cloud: Cloud, pki: Pki) -> None:
    p = cloud.provider
    lb, listener, ca, _www, api = _mutual_listener(p, pki)
    context = cloud.context
    assert context.emulator is not None and context.settings and context.credentials
    plane = open_data_plane(context.emulator.world, listener_ids={listener},
                            find_free_ports=True)
    reaching = connect(context.settings, context.credentials,
                       data_plane_offset=plane.port_offset)
    try:
        assert reaching.presentation_wait() == FOLLOW_WAIT  # it follows shortly, not at once
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
    no_plane = connect(context.settings, context.credentials)
    try:
        assert no_plane.presented_certificate(lb, listener, 443, None) is None
    finally:
        no_plane.close()


def test_nothing_listening_is_not_reached() -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused
        assert presented_fingerprint("127.0.0.1", port, "www.example.com") is None
