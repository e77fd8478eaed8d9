"""Fixtures for data-plane tests: certificates, loopback addresses, a running plane (checked
for leaks once stopped), an in-process emulator driven through the SDK."""

from __future__ import annotations

import gc
import logging
import random
import socket
import warnings
from collections.abc import Callable, Iterator

import pytest

from mtlsform.emulator import Emulator, EmulatorConfig, InstanceSpec
from mtlsform.emulator.dataplane import DataPlane, InstanceConfig
from tests.dataplane.pki import expired_client, make_ca, make_leaf
from tests.dataplane.sdk import clients
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


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fails the test if a socket or transport was left open (ResourceWarning), or a task left
    pending or unretrieved (asyncio's errors, and the data plane's own report at stop)."""
    errors = _Errors()
    loggers = [logging.getLogger("asyncio"), logging.getLogger("mtlsform.emulator.dataplane")]
    for logger in loggers:
        logger.addHandler(errors)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            yield
            gc.collect()
            gc.collect()
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    leaks += [m for m in errors.messages if m.startswith("asyncio") or "task(s)" in m]
    assert leaks == []


@pytest.fixture
def start_plane(no_leaks: None, port_offset: int) -> Iterator[Callable[..., DataPlane]]:
    planes: list[DataPlane] = []

    def start(source, **options) -> DataPlane:
        options.setdefault("port_offset", port_offset)
        plane = DataPlane(source, **options).start()
        planes.append(plane)
        return plane

    yield start
    for plane in planes:
        plane.stop()


@pytest.fixture
def emulator(tmp_path):
    """(emulator, ClbClient, SslClient): an in-process emulator with rs-1 and rs-2."""
    config = EmulatorConfig(
        data_dir=tmp_path / "emu", task_delay=0.02, rate_limit=None,
        instances=(InstanceSpec("ins-rs1", "rs-1", new_address(91)),
                   InstanceSpec("ins-rs2", "rs-2", new_address(91))))
    with Emulator(config) as running:
        yield (running, *clients(running.endpoint, running.scheme))
