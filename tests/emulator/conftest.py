"""Fixtures of the emulator tests: a running in-process emulator, SDK clients, certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import Emulator, EmulatorConfig, world
from tests.emulator import helpers


@pytest.fixture(autouse=True)
def check_sharing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every transaction in these tests checks that it left the committed version untouched
    (copy-on-write drafts share unchanged objects with it)."""
    monkeypatch.setattr(world, "CHECK_SHARING", True)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(data_dir=tmp_path / "emu", task_delay=0.02,
                                 rate_limit=None)) as running:
        yield running


@pytest.fixture
def clb(emu: Emulator) -> Any:
    return helpers.clb(emu)


@pytest.fixture
def ssl(emu: Emulator) -> Any:
    return helpers.ssl(emu)


@pytest.fixture(scope="session")
def pki() -> dict[str, Any]:
    """A CA, a second CA, server certificates for two domains, an expired one."""
    ca, ca_cert, ca_key = helpers.make_ca("Test Root CA")
    other_ca, _, _ = helpers.make_ca("Other CA")
    return {
        "ca": ca,
        "other_ca": other_ca,
        "server": helpers.make_leaf(ca_cert, ca_key, "www.example.com", ["www.example.com"]),
        "api": helpers.make_leaf(ca_cert, ca_key, "api.example.com", ["api.example.com"]),
        "expired": helpers.make_leaf(ca_cert, ca_key, "old.example.com", expired=True),
    }


@pytest.fixture
def certs(ssl: Any, pki: dict[str, Any]) -> dict[str, str]:
    """Uploaded IDs: server (SVR), api (SVR), ca (CA), other_ca (CA)."""
    ids = {}
    for name in ("server", "api"):
        ids[name] = helpers.call(ssl, "UploadCertificate", CertificatePublicKey=pki[name].cert,
                                 CertificatePrivateKey=pki[name].key,
                                 Alias=name).CertificateId
    for name in ("ca", "other_ca"):
        ids[name] = helpers.call(ssl, "UploadCertificate", CertificatePublicKey=pki[name].cert,
                                 CertificateType="CA", Alias=name).CertificateId
    return ids


@pytest.fixture
def lb(clb: Any) -> str:
    """A ready public load balancer."""
    resp = helpers.done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
                        LoadBalancerName="web")
    return resp.LoadBalancerIds[0]
