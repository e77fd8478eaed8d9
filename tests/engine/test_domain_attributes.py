"""Default domain and optional client verification (stacks/sni-default.yaml) through the whole
engine on the embedded emulator: applied as declared, a no-op plan within its call budget,
`verify` proving both on the data plane, the default domain moved in place, drift made through
the SDK shown and undone, destroy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.engine.cloud import console_write, described_listeners, no_op_calls
from tests.engine.conftest import edit

STACK = Path("stacks/sni-default.yaml")


def cloud_rules(workdir: Path) -> dict[str, Any]:
    """The listener's rules as DescribeListeners answers them (domain -> rule JSON)."""
    [listener] = described_listeners(workdir / STACK, "load_balancer.edge")
    return {rule["Domain"]: rule for rule in listener["Rules"]}


def test_default_domain_and_optional_verification(workdir, cli):
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    rules = cloud_rules(workdir)
    assert {d: r["DefaultServer"] for d, r in rules.items()} == {
        "api.example.com": False, "www.example.com": True}
    assert rules["api.example.com"]["Certificate"]["SSLVerifyClient"] == "OPTIONAL"
    # a no-op plan: one read per collection, as without these settings
    assert no_op_calls(workdir / STACK) == {"DescribeCertificates": 1, "DescribeListeners": 1,
                                    "DescribeLoadBalancers": 1, "DescribeTargets": 1}

    verified = cli("verify", STACK, "--requests", "4", "--json")
    assert verified.code == 0, verified.text
    checks = {(c["domain"], c["check"]): c for c in json.loads(verified.out)["checks"]}
    assert checks[("www.example.com", "default-domain")]["result"] == "pass"
    assert ("api.example.com", "default-domain") not in checks
    optional = checks[("api.example.com", "optional-client-certificate")]
    assert (optional["result"], optional["reason"]) == (
        "pass", "let through to api-1, told x-client-verify: NONE")
    assert ("api.example.com", "no-client-certificate") not in checks
    assert checks[("api.example.com", "unknown-ca")]["result"] == "pass"  # still refused

    # the default domain moves in place: one ModifyDomainAttributes, nothing replaced
    edit(workdir / STACK, "default_domain: www.example.com", "default_domain: api.example.com")
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    assert re.search(r"default_server += false -> true", planned.out), planned.out
    before = {d: r["LocationId"] for d, r in rules.items()}
    assert cli("apply", STACK, "--auto-approve").code == 0
    rules = cloud_rules(workdir)
    assert {d: r["LocationId"] for d, r in rules.items()} == before  # the same rules
    assert {d: r["DefaultServer"] for d, r in rules.items()} == {
        "api.example.com": True, "www.example.com": False}
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    verified = cli("verify", STACK, "--requests", "4", "--json")
    checks = {(c["domain"], c["check"]): c for c in json.loads(verified.out)["checks"]}
    assert checks[("api.example.com", "default-domain")]["result"] == "pass", verified.out

    # drift through the SDK: www made the default again, api's client certificates required
    console_write(workdir / STACK, "ModifyDomainAttributes",
              {"Domain": "www.example.com", "DefaultServer": True})
    cert = rules["api.example.com"]["Certificate"]
    console_write(workdir / STACK, "ModifyDomainAttributes", {
        "Domain": "api.example.com",
        "Certificate": {"SSLMode": "MUTUAL", "CertId": cert["CertId"],
                        "CertCaId": cert["CertCaId"], "SSLVerifyClient": "ON"}})
    verified = cli("verify", STACK, "--requests", "4", "--json")
    assert verified.code == 1
    failed = {(c["domain"], c["check"]): c["reason"] for c in json.loads(verified.out)["checks"]
              if c["result"] == "fail"}
    assert "another domain is the default" in failed[("api.example.com", "default-domain")]
    assert "but the stack says verify_client: optional" in failed[
        ("api.example.com", "optional-client-certificate")]
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert re.search(r'verify_client += "OPTIONAL" -> "ON"', planned.out), planned.out
    assert re.search(r"default_server += true -> false", planned.out), planned.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    rules = cloud_rules(workdir)
    assert rules["api.example.com"]["DefaultServer"] is True
    assert rules["api.example.com"]["Certificate"]["SSLVerifyClient"] == "OPTIONAL"

    # HTTP/2, QUIC and a gRPC-over-TLS backend for www.example.com: all in place
    edit(workdir / STACK, "        tls: {certificate: www}\n",
         "        tls: {certificate: www}\n        http2: true\n        quic: true\n"
         "        backend_protocol: GRPCS\n")
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert re.search(r'backend_protocol += "HTTP" -> "GRPCS"', planned.out), planned.out
    assert re.search(r"http2 += false -> true", planned.out), planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    www = cloud_rules(workdir)["www.example.com"]
    assert (www["Http2"], www["QuicStatus"], www["ForwardType"]) == (
        True, "QUIC_ACTIVE", "GRPCS")
    assert www["LocationId"] == before["www.example.com"]
    assert no_op_calls(workdir / STACK) == {"DescribeCertificates": 1, "DescribeListeners": 1,
                                    "DescribeLoadBalancers": 1, "DescribeTargets": 1}
    console_write(workdir / STACK, "ModifyDomainAttributes",
                  {"Domain": "www.example.com", "Http2": False})
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert re.search(r"http2 += false -> true", planned.out), planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cloud_rules(workdir)["www.example.com"]["Http2"] is True
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    destroyed = cli("destroy", STACK, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
