"""Configuration changes are followed without a restart (plain `DataPlaneConfig` updates)."""

import http.client
import socket
import ssl
from dataclasses import replace

import pytest

from tests.dataplane.pki import make_leaf, policy
from tests.dataplane.support import (
    DOMAIN,
    client_context,
    count_backends,
    eventually,
    https_request,
    sni_connection,
)


def with_targets(config, targets):
    listener = config.listeners[0]
    route = replace(listener.routes[0], targets=targets)
    return replace(config, listeners=(replace(listener, routes=(route,)),))


def ask(plane, context, n):
    endpoint = plane.endpoint("lbl-main")
    return [https_request(endpoint.host, endpoint.bound_port, context=context) for _ in range(n)]


def test_add_a_target_then_change_weights(site, pki, start_plane):
    config = site.config(policy(pki.server, pki.ca))
    rs1, rs2 = config.listeners[0].routes[0].targets
    plane = start_plane(with_targets(config, (rs1,)))
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    assert count_backends(ask(plane, context, 4)) == {"rs-1": 4}

    plane.update(with_targets(config, (rs1, rs2)))  # RegisterTargets
    assert [r.backend for r in ask(plane, context, 4)] == ["rs-1", "rs-2", "rs-1", "rs-2"]

    plane.update(with_targets(config, (replace(rs1, weight=30), replace(rs2, weight=10))))
    assert count_backends(ask(plane, context, 40)) == {"rs-1": 30, "rs-2": 10}

    plane.update(with_targets(config, (replace(rs1, weight=0), rs2)))  # weight 0: drained
    assert count_backends(ask(plane, context, 6)) == {"rs-2": 6}


def test_swapping_the_client_ca_applies_to_new_handshakes_and_ends_idle_ones(
        site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca)))
    endpoint = plane.endpoint("lbl-main")
    good = client_context(pki.ca.cert_pem, pki.files("client"))
    kept = sni_connection(endpoint.host, endpoint.bound_port, context=good)
    assert https_request(endpoint.host, endpoint.bound_port, connection=kept).status == 200

    plane.update(site.config(policy(pki.server, pki.other_ca)))  # the CA is swapped
    assert plane.endpoint("lbl-main") == endpoint  # same socket, no restart

    with pytest.raises((ConnectionError, ssl.SSLError)):  # the idle connection was closed
        https_request(endpoint.host, endpoint.bound_port, connection=kept)
    kept.close()
    with pytest.raises(ssl.SSLError) as refused:
        ask(plane, good, 1)
    assert refused.value.reason == "TLSV1_ALERT_UNKNOWN_CA"
    eventually(lambda: [r.reason for r in plane.handshake_failures()] == ["unknown-ca"])
    other = client_context(pki.ca.cert_pem, pki.files("other_client"))
    reply = ask(plane, other, 1)[0]
    assert reply.status == 200 and "CN=intruder" in reply.body


def test_listeners_come_and_go_and_move(site, pki, start_plane, port_offset):
    config = site.config(policy(pki.server, pki.ca))
    plane = start_plane(config)
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    assert ask(plane, context, 1)[0].status == 200
    old = plane.endpoint("lbl-main")

    plane.update(replace(config, listeners=()))  # DeleteListener
    assert plane.endpoint("lbl-main") is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((old.host, old.bound_port), timeout=5).close()
    assert plane.target_health() == {}

    moved = replace(config.listeners[0], port=8443)  # a new listener on another port
    plane.update(replace(config, listeners=(moved,)))
    endpoint = plane.endpoint("lbl-main")
    assert endpoint.bound_port == 8443 + port_offset
    assert ask(plane, context, 1)[0].status == 200


def test_a_connection_handshaken_before_a_rotation_gets_its_first_request_answered(
        site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca)))
    endpoint = plane.endpoint("lbl-main")
    good = client_context(pki.ca.cert_pem, pki.files("client"))
    fresh = sni_connection(endpoint.host, endpoint.bound_port, context=good)
    fresh.connect()  # handshaken with the old certificate; its request is on its way
    old_leaf = fresh.sock.getpeercert(binary_form=True)

    rotated = make_leaf(pki.ca, DOMAIN, dns=(DOMAIN,), usage="server")
    plane.update(site.config(policy(rotated, pki.ca)))  # the server certificate is rotated

    assert https_request(endpoint.host, endpoint.bound_port, connection=fresh).status == 200
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
        https_request(endpoint.host, endpoint.bound_port, connection=fresh)  # kept alive: no
    fresh.close()
    again = sni_connection(endpoint.host, endpoint.bound_port, context=good)
    assert https_request(endpoint.host, endpoint.bound_port, connection=again).status == 200
    assert again.sock.getpeercert(binary_form=True) not in (None, old_leaf)
    again.close()
