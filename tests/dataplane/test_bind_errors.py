"""Bind failures are reported per listener (`bind_errors`) and per demo instance
(`instance_bind_errors`), and cleared once the address can be bound."""

import socket
from dataclasses import replace

from tests.dataplane.pki import policy


def test_a_taken_instance_port_is_reported_apart_from_listeners(site, pki, start_plane,
                                                                 port_offset):
    taken = socket.socket()
    taken.bind((site.rs1.address, 80 + port_offset))
    taken.listen(1)
    try:
        plane = start_plane(site.config(policy(pki.server, pki.ca)))
        assert plane.bind_errors == {}
        assert plane.instance_bind_errors == {
            ("ins-rs1", 80): f"cannot listen on {site.rs1.address}:{80 + port_offset}: "
                             "Address already in use"}
    finally:
        taken.close()
    plane.update(site.config(policy(pki.server, pki.ca), weights=(5, 5)))  # retried
    assert plane.instance_bind_errors == {}


def test_a_taken_listener_port_is_a_listener_bind_error(site, pki, start_plane, port_offset):
    config = site.config(policy(pki.server, pki.ca))
    taken = socket.socket()
    taken.bind((site.vip, 443 + port_offset))
    taken.listen(1)
    try:
        plane = start_plane(config)
        assert plane.bind_errors == {
            "lbl-main": f"cannot listen on {site.vip}:{443 + port_offset}: Address already in use"}
        assert plane.instance_bind_errors == {}
    finally:
        taken.close()
    plane.update(replace(config, listeners=()))
    assert plane.bind_errors == {}
