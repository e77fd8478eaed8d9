"""A CLB made by hand through the official SDK (as in the console), for import tests: two
HTTPS listeners (SNI off and on), three rules and four targets, with uploads by ID."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.dataplane.sdk import call
from tests.engine.conftest import stack_at
from tests.providers.certs import make_pki


@dataclass
class ConsoleClb:
    lb_id: str
    server_cert: str  # SVR upload for www.example.com
    api_cert: str  # SVR upload for api.example.com
    ca_cert: str  # CA upload
    listeners: dict[int, str] = field(default_factory=dict)  # port -> listener ID
    rules: dict[str, str] = field(default_factory=dict)  # "port domain url" -> location ID
    private_keys: tuple[str, ...] = ()


def console_clb(workdir: Path, stack: Path, *, name: str = "console-made") -> ConsoleClb:
    """Makes the CLB in the world of `stack`'s embedded emulator, call by call."""
    from mtlsform.session import open_session

    pki = make_pki()
    with open_session(stack_at(workdir / stack), operation="setup") as session:
        context = session.provider_context
        clb, ssl = context.sdk_client("clb"), context.sdk_client("ssl")

        def task(action: str, **fields: Any) -> Any:
            answer = call(clb, action, **fields)
            context.emulator.wait_for_tasks()
            return answer

        def upload(pem: str, key: str | None, kind: str) -> str:
            fields: dict[str, Any] = {"CertificatePublicKey": pem, "CertificateType": kind}
            if key:
                fields["CertificatePrivateKey"] = key
            return str(call(ssl, "UploadCertificate", **fields).CertificateId)

        made = ConsoleClb(
            lb_id=str(task("CreateLoadBalancer", LoadBalancerType="OPEN",
                           LoadBalancerName=name).LoadBalancerIds[0]),
            server_cert=upload(pki.server_pem, pki.server_key_pem, "SVR"),
            api_cert=upload(pki.other_server_pem, pki.other_server_key_pem, "SVR"),
            ca_cert=upload(pki.ca_pem, None, "CA"),
            private_keys=(pki.server_key_pem, pki.other_server_key_pem),
        )
        mutual = {"SSLMode": "MUTUAL", "CertId": made.server_cert, "CertCaId": made.ca_cert}
        made.listeners[443] = str(task(
            "CreateListener", LoadBalancerId=made.lb_id, Ports=[443], Protocol="HTTPS",
            ListenerNames=["web-443"], Certificate=mutual).ListenerIds[0])
        made.listeners[8443] = str(task(
            "CreateListener", LoadBalancerId=made.lb_id, Ports=[8443], Protocol="HTTPS",
            ListenerNames=["sni-8443"], SniSwitch=1).ListenerIds[0])
        for port, domain, url, cert in ((443, "www.example.com", "/", None),
                                        (443, "www.example.com", "/api", None),
                                        (8443, "api.example.com", "/", made.api_cert)):
            rule: dict[str, Any] = {"Domain": domain, "Url": url, "Scheduler": "WRR"}
            if cert:
                rule["Certificate"] = {"SSLMode": "MUTUAL", "CertId": cert,
                                       "CertCaId": made.ca_cert}
            made.rules[f"{port} {domain} {url}"] = str(task(
                "CreateRule", LoadBalancerId=made.lb_id, ListenerId=made.listeners[port],
                Rules=[rule]).LocationIds[0])
        for key, targets in (
                ("443 www.example.com /", [{"InstanceId": "ins-rs1", "Port": 80, "Weight": 10},
                                           {"InstanceId": "ins-rs2", "Port": 80, "Weight": 10}]),
                ("443 www.example.com /api", [{"InstanceId": "ins-rs2", "Port": 80,
                                               "Weight": 30}]),
                ("8443 api.example.com /", [{"InstanceId": "ins-rs1", "Port": 81,
                                             "Weight": 20}])):
            port = int(key.split()[0])
            task("RegisterTargets", LoadBalancerId=made.lb_id, ListenerId=made.listeners[port],
                 LocationId=made.rules[key], Targets=targets)
    return made
