"""The example stacks validate cleanly and build the model the walk-through describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlsform.stack import load_stack
from tests.stack.conftest import STACKS

EXAMPLES = ["example", "sni", "imported", "sni-default", "tls-policy", "redirect",
            "health-checks", "dual-certificates"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates_without_errors_or_warnings(name: str, monkeypatch) -> None:
    monkeypatch.chdir(STACKS.parent)
    stack, diagnostics = load_stack(Path(f"stacks/{name}.yaml"), environ={})
    assert stack is not None, [d.format() for d in diagnostics]
    assert [d.format() for d in diagnostics] == []


def test_example_is_the_walk_through() -> None:
    stack, _ = load_stack(STACKS / "example.yaml", environ={})
    assert stack is not None
    ca, server, client = (stack.certificates[n] for n in ("ca", "server", "client"))
    assert (ca.type, ca.issuer, ca.key, ca.validity_days, ca.path_length) == (
        "ca", None, "rsa-2048", 3650, 0)
    assert (server.issuer, server.subject.common_name, server.dns_names) == (
        "ca", "www.example.com", ("www.example.com",))
    assert client.export is not None and client.export.pkcs12 and not client.export.legacy_pkcs12
    assert client.export.dir == Path("out/client-1")
    listener = stack.listeners["https"]
    assert (listener.protocol, listener.port, listener.sni) == ("HTTPS", 443, False)
    assert (listener.tls.mode, listener.tls.certificate, listener.tls.client_ca) == (
        "mutual", "server", "ca")
    [rule] = listener.rules
    assert (rule.key, rule.scheduler, rule.backend_protocol, rule.session_persistence) == (
        "www.example.com/", "WRR", "HTTP", 0)
    assert rule.health_check.http_codes == ("2xx", "3xx")
    assert [b.backend for b in rule.backends] == ["rs-1", "rs-2"]
    assert {n: (b.instance, b.port, b.weight) for n, b in stack.backends.items()} == {
        "rs-1": ("ins-rs1", 80, 10), "rs-2": ("ins-rs2", 80, 10)}
    assert stack.uploaded_certificates() == {"ca": "CA", "server": "SVR"}
    assert [str(r) for r in stack.outputs["vip"].references] == ["load_balancer.web.vip"]
    assert stack.load_balancers["web"].display_name == "example-clb"


def test_positions_point_into_the_file() -> None:
    stack, _ = load_stack(STACKS / "example.yaml", environ={})
    lines = (STACKS / "example.yaml").read_text().splitlines()
    server = stack.certificates["server"]
    at = server.positions.at("issuer")
    assert lines[at.line - 1][at.column - 1:].startswith("ca")
    assert server.positions.at("subject.common_name").line == at.line + 1
    port = stack.listeners["https"].positions.at("port")
    assert lines[port.line - 1][port.column - 1:] == "443"
    assert stack.listeners["https"].tls.positions.at("client_ca") is not None


def test_sni_rules_carry_their_own_tls() -> None:
    stack, _ = load_stack(STACKS / "sni.yaml", environ={})
    listener = stack.listeners["https"]
    assert listener.sni and listener.tls is None
    tls = {rule.domain: (rule.tls.mode, rule.tls.certificate, rule.tls.client_ca)
           for rule in listener.rules}
    assert tls == {"www.example.com": ("one-way", "www", None),
                   "api.example.com": ("mutual", "api", "api-clients-ca")}
    assert stack.uploaded_certificates() == {"api": "SVR", "api-clients-ca": "CA", "www": "SVR"}


def test_imported_paths_stay_as_written() -> None:
    stack, _ = load_stack(STACKS / "imported.yaml", environ={})
    files = stack.certificates["bought"].files
    assert files is not None
    assert (files.certificate, files.private_key, files.chain) == (
        Path("certs/server.crt"), Path("certs/server.key"), Path("certs/ca.crt"))
    assert (stack.directory / files.certificate).is_file()
    assert stack.certificates["bought"].imported
