"""Fixtures for data-plane tests: certificates, loopback addresses, a running plane."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator

import pytest

from mtlsform.emulator.dataplane import DataPlane, InstanceConfig
from tests.dataplane.pki import expired_client, make_ca, make_leaf
from tests.dataplane.support import DOMAIN, Pki, Site, new_address


def _bindable(port: int) -> bool:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def port_offset() -> int:
    """An offset that puts 80 and 443 on free high ports (the listeners use 443, backends 80)."""
    rng = random.Random()
    for _ in range(50):
        offset = rng.randrange(20000, 40000, 10)
        if all(_bindable(port + offset) for port in (80, 443, 8443, 8080)):
            return offset
    raise RuntimeError("no free port offset found")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, other_ca = make_ca("Test Root CA"), make_ca("Other Root CA")
    bundle = Pki(
        ca=ca, other_ca=other_ca,
        server=make_leaf(ca, DOMAIN, dns=(DOMAIN, "api.example.com"), usage="server"),
        client=make_leaf(ca, "client-1"),
        other_client=make_leaf(other_ca, "intruder"),
        expired=expired_client(ca, "client-expired"),
        server_only=make_leaf(ca, "server-as-client", usage="server"),
        folder=folder,
    )
    for name in ("client", "other_client", "expired", "server_only", "server"):
        getattr(bundle, name).write(folder, name)
    bundle.ca_file.write_text(ca.cert_pem)
    return bundle


@pytest.fixture
def site() -> Site:
    return Site(vip=new_address(90),
                rs1=InstanceConfig("ins-rs1", "rs-1", new_address(91)),
                rs2=InstanceConfig("ins-rs2", "rs-2", new_address(91)))


@pytest.fixture
def start_plane(port_offset: int) -> Iterator[Callable[..., DataPlane]]:
    planes: list[DataPlane] = []

    def start(source, **options) -> DataPlane:
        options.setdefault("port_offset", port_offset)
        plane = DataPlane(source, **options).start()
        planes.append(plane)
        return plane

    yield start
    for plane in planes:
        plane.stop()
