"""`open_data_plane`, the factory `verify` uses: a plane that bound what it needs, or
DataPlaneBindError (NoFreePorts when no offset is free), on real sockets."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from mtlsform.emulator.dataplane import (
    DataPlaneBindError,
    NoFreePorts,
    open_data_plane,
)
from mtlsform.emulator.dataplane.opening import free_offset
from mtlsform.emulator.errors import EmulatorError
from tests.dataplane.pki import policy


@pytest.fixture
def taken_listener_port(site, port_offset) -> Iterator[int]:
    """The listener's port (at the test offset) held by another socket."""
    taken = socket.socket()
    taken.bind((site.vip, 443 + port_offset))
    taken.listen(1)
    yield 443 + port_offset
    taken.close()


def test_every_listener_bound_at_the_offset_asked_for(site, pki, no_leaks, port_offset):
    plane = open_data_plane(site.config(policy(pki.server, pki.ca)), port_offset=port_offset)
    try:
        assert plane.port_offset == port_offset
        endpoint = plane.endpoint("lbl-main")
        assert endpoint is not None and endpoint.bound_port == 443 + port_offset
    finally:
        plane.stop()


def test_a_taken_listener_port_is_a_bind_error_naming_the_address(
        site, pki, no_leaks, port_offset, taken_listener_port):
    with pytest.raises(DataPlaneBindError) as raised:
        open_data_plane(site.config(policy(pki.server, pki.ca)), port_offset=port_offset)
    assert isinstance(raised.value, EmulatorError)
    assert raised.value.problems == (
        f"cannot listen on {site.vip}:{taken_listener_port}: Address already in use",)


def test_a_listener_not_asked_for_may_stay_unbound(site, pki, no_leaks, port_offset,
                                                   taken_listener_port):
    plane = open_data_plane(site.config(policy(pki.server, pki.ca)), port_offset=port_offset,
                            listener_ids={"lbl-other"})
    try:
        assert "lbl-main" in plane.bind_errors
    finally:
        plane.stop()


def test_a_free_offset_is_found_when_asked(site, pki, no_leaks, port_offset,
                                           taken_listener_port):
    plane = open_data_plane(site.config(policy(pki.server, pki.ca)), port_offset=port_offset,
                            find_free_ports=True)
    try:
        assert plane.port_offset != port_offset and plane.bind_errors == {}
        endpoint = plane.endpoint("lbl-main")
        assert endpoint is not None and endpoint.bound_port == 443 + plane.port_offset
    finally:
        plane.stop()


def test_no_free_offset_when_every_one_is_taken(site):
    """Only one offset is possible for port 65535 - 10000 - 1, and it is held."""
    port = 65535 - 10000 - 1
    taken = socket.socket()
    taken.bind((site.vip, port + 10000))
    taken.listen(1)
    try:
        with pytest.raises(NoFreePorts) as raised:
            free_offset([(site.vip, port)], set(), random.Random(1), ("why",))
    finally:
        taken.close()
    assert isinstance(raised.value, DataPlaneBindError) and raised.value.problems == ("why",)
    assert str(raised.value) == "cannot find free ports for the data plane"
