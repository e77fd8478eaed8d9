"""Fixtures for verify tests: the certificate set, a site, and data planes stopped after use."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mtlsform.emulator.dataplane import DataPlane, DataPlaneConfig, InstanceConfig
from tests.verify.support import DOMAIN, Pki, Site, free_port, make, new_address


@pytest.fixture(scope="session")
def pki() -> Pki:
    ca = make("Verify Test Root CA", "ca")
    other = make("Verify Other Root CA", "ca")
    return Pki(ca=ca, server=make("server", "server", ca, cn=DOMAIN, dns=(DOMAIN,)),
               client=make("client-1", "client", ca), other_ca=other,
               other_server=make("server", "server", other, cn=DOMAIN, dns=(DOMAIN,)))


@pytest.fixture
def site() -> Site:
    vip = new_address(120)
    instances = tuple(InstanceConfig(f"ins-rs{n}", f"rs-{n}", new_address(122))
                      for n in (1, 2, 3))
    # One backend port free on every instance address (each address is new to this run).
    return Site(vip, free_port(vip), instances, free_port(instances[0].address))


@pytest.fixture
def serve() -> Iterator[Callable[[DataPlaneConfig], DataPlane]]:
    """Starts a data plane on a fixed configuration; stopped after the test."""
    planes: list[DataPlane] = []

    def start(config: DataPlaneConfig) -> DataPlane:
        plane = DataPlane(config).start()
        planes.append(plane)
        assert plane.bind_errors == {}, plane.bind_errors
        return plane

    yield start
    for plane in planes:
        plane.stop()


