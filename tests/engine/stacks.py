"""Stack texts for engine tests, written to files in a test's directory."""

from __future__ import annotations

from pathlib import Path


def many_rules_stack(listeners: int, rules: int, *, name: str = "many",
                     adopt: str | None = None) -> str:
    """One CLB with `listeners` mutual-TLS listeners of `rules` rules each (ecdsa keys)."""
    lb = f"    id: {adopt}\n" if adopt else "    name: many-clb\n"
    lines = [
        "version: 1",
        f"stack: {name}",
        "provider: {kind: emulator, region: ap-guangzhou}",
        "certificates:",
        "  ca: {type: ca, key: ecdsa-p256, subject: {common_name: Many Test CA}}",
        "  server: {type: server, key: ecdsa-p256, issuer: ca,",
        "           subject: {common_name: www.example.com}, dns_names: ['*.example.com']}",
        "load_balancers:",
        "  web:",
        lb.rstrip("\n"),
        "backends:",
        "  rs-1: {instance: ins-rs1, port: 80, weight: 10}",
        "  rs-2: {instance: ins-rs2, port: 80, weight: 10}",
        "listeners:",
    ]
    for i in range(listeners):
        lines += [
            f"  l{i}:",
            "    load_balancer: web",
            f"    port: {8000 + i}",
            "    tls: {mode: mutual, certificate: server, client_ca: ca}",
            "    rules:",
        ]
        for j in range(rules):
            lines.append(f"      - {{domain: d{j}.example.com, url: /, backends: [rs-1, rs-2]}}")
    return "\n".join(lines) + "\n"


def write(directory: Path, file_name: str, text: str) -> Path:
    path = directory / file_name
    path.write_text(text)
    return path


def fleet_stack(load_balancers: int, listeners: int, rules: int, backends: int, *,
                name: str = "fleet", weight: int = 10) -> str:
    """`load_balancers` CLBs of `listeners` mutual-TLS listeners of `rules` rules each, every
    rule over `backends` IP backends of `weight` (ecdsa keys, one CA and server certificate)."""
    lines = [
        "version: 1",
        f"stack: {name}",
        "provider: {kind: emulator, region: ap-guangzhou}",
        "certificates:",
        "  ca: {type: ca, key: ecdsa-p256, subject: {common_name: Fleet Test CA}}",
        "  server: {type: server, key: ecdsa-p256, issuer: ca,",
        "           subject: {common_name: www.example.com}, dns_names: ['*.example.com']}",
        "load_balancers:",
    ]
    lines += [f"  lb{n}: {{name: fleet-{n}}}" for n in range(load_balancers)]
    lines.append("backends:")
    lines += [f"  b{n}: {{ip: 10.0.{n // 250}.{n % 250 + 1}, port: 80, weight: {weight}}}"
              for n in range(backends)]
    lines.append("listeners:")
    for n in range(load_balancers):
        for i in range(listeners):
            lines += [
                f"  lb{n}-l{i}:",
                f"    load_balancer: lb{n}",
                f"    port: {8000 + i}",
                "    tls: {mode: mutual, certificate: server, client_ca: ca}",
                "    rules:",
            ]
            names = ", ".join(f"b{b}" for b in range(backends))
            lines += [f"      - {{domain: d{j}.example.com, url: /, backends: [{names}]}}"
                      for j in range(rules)]
    return "\n".join(lines) + "\n"
