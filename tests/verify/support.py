"""Helpers for verify tests: an ECDSA certificate set, a site served by a real in-process data
plane on its own loopback addresses, and the `Entry` that describes what verify expects."""

from __future__ import annotations

import itertools
import os
import random
import socket
from dataclasses import dataclass

from mtlsform.emulator.dataplane import (
    DataPlaneConfig,
    HealthCheckConfig,
    InstanceConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    TlsPolicy,
)
from mtlsform.pki import CertificateMaterial, generate_certificate
from mtlsform.stack.model import Certificate, Subject
from mtlsform.verification import (
    ClientIdentity,
    Entry,
    ExpectedBackend,
    RouteSpec,
    ServerExpectation,
    SigningCa,
)

DOMAIN = "www.example.com"
KEY = "ecdsa-p256"
_SUBNET = random.Random(os.getpid()).randint(1, 250)
_HOSTS = itertools.count(1)


def new_address(block: int) -> str:
    """A loopback address no other test uses (blocks 120/121: VIPs, 122/123: instances)."""
    n = next(_HOSTS)
    return f"127.{block + n // 250}.{_SUBNET}.{n % 250 + 1}"


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def make(name: str, kind: str, issuer: CertificateMaterial | None = None, *,
         cn: str | None = None, dns: tuple[str, ...] = ()) -> CertificateMaterial:
    spec = Certificate(name=name, type=kind, key=KEY, issuer=issuer and "issuer",
                       subject=Subject(common_name=cn or name), dns_names=dns)
    return generate_certificate(spec, issuer)


@dataclass(frozen=True)
class Pki:
    ca: CertificateMaterial
    server: CertificateMaterial
    client: CertificateMaterial
    other_ca: CertificateMaterial
    other_server: CertificateMaterial  # same name, signed by another CA

    def identity(self, material: CertificateMaterial, label: str = "client") -> ClientIdentity:
        assert material.private_key_pem is not None
        return ClientIdentity(label, material.certificate_pem, material.chain_pem,
                              material.private_key_pem)


def policy(server: CertificateMaterial, client_ca: CertificateMaterial | None, *,
           verify: str = "ON") -> TlsPolicy:
    assert server.private_key_pem is not None
    return TlsPolicy(server.full_chain_pem, server.private_key_pem,
                     mode="MUTUAL" if client_ca else "UNIDIRECTIONAL", verify_client=verify,
                     client_ca_pem=client_ca.certificate_pem if client_ca else None)


@dataclass
class Site:
    """One listener on its own VIP with one rule for DOMAIN, and demo instances rs-1..rs-3."""

    vip: str
    port: int
    instances: tuple[InstanceConfig, ...]
    backend_port: int

    def config(self, tls: TlsPolicy, bound: dict[str, int]) -> DataPlaneConfig:
        """Serves `tls`; `bound` maps instance names (rs-1...) to their weights."""
        targets = tuple(TargetConfig(i.instance_id, i.address, self.backend_port, bound[i.name])
                        for i in self.instances if i.name in bound)
        route = RouteConfig("loc-test", (DOMAIN,), "/", targets=targets,
                            health_check=HealthCheckConfig(enabled=False))
        listener = ListenerConfig("lbl-test", "lb-test", self.vip, self.port, tls=tls,
                                  routes=(route,))
        return DataPlaneConfig(listeners=(listener,), instances=self.instances)

    def entry(self, pki: Pki, weights: dict[str, int], *, mutual: bool = True) -> Entry:
        """What verify expects: the stack's server certificate and CA, rs-N with `weights`."""
        backends = tuple(ExpectedBackend(name, weight, self.backend_port,
                                         instance_id=f"ins-{name.replace('-', '')}")
                         for name, weight in weights.items())
        assert pki.ca.private_key_pem is not None
        return Entry(
            listener="https", domain=DOMAIN, server_name=DOMAIN, host=self.vip, port=self.port,
            mutual=mutual,
            server=ServerExpectation("server", pki.server.fingerprint_sha256,
                                     pki.ca.certificate_pem, "the stack's CA ca"),
            routes=(RouteSpec("/", "WRR", backends),),
            client=pki.identity(pki.client, "the stack's client certificate client")
            if mutual else None,
            client_ca=SigningCa("ca", pki.ca.certificate_pem, "", pki.ca.private_key_pem)
            if mutual else None,
            listener_id="lbl-test")


