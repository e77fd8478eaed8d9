"""Dual certificates (stacks/dual-certificates.yaml) through the whole engine on the embedded
emulator: an RSA and an ECDSA server certificate on one listener (MultiCertInfo, read back as
CertId + ExtCertIds), each served to the client whose offer can use it (`verify`, real
handshakes), a no-op plan within its call budget, drift made through the SDK shown, caught
by `verify` and undone in place, a dual listener made single in place, and the same on an SNI
domain; destroy. (OpenSSL's own client sees the two served: tests/dataplane.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tencentcloud.ssl.v20191205 import models as ssl_models

from mtlsform.session import open_session
from tests.engine.cloud import console_write, described_listeners, no_op_calls
from tests.engine.conftest import edit, stack_at

STACK = Path("stacks/dual-certificates.yaml")


def cloud_listener(workdir: Path) -> dict[str, Any]:
    """The listener as DescribeListeners answers it (JSON)."""
    [listener] = described_listeners(workdir / STACK, "load_balancer.web")
    return listener


def upload_ids(workdir: Path) -> dict[str, str]:
    with open_session(stack_at(workdir / STACK), operation="look") as session:
        return {r.address.name: r.attributes["id"] for r in session.state.resources
                if r.address.type == "ssl_certificate"}


def modify_listener(workdir: Path, fields: dict[str, Any]) -> None:
    """ModifyListener as in the console, its task awaited."""
    console_write(workdir / STACK, "ModifyListener", fields, load_balancer="load_balancer.web")


def upload_by_hand(workdir: Path, address: str) -> str:
    """A certificate of the state uploaded again through the SDK, as in the console: its ID."""
    with open_session(stack_at(workdir / STACK), operation="tamper") as session:
        attrs = session.state.get(address).attributes
        request = ssl_models.UploadCertificateRequest()
        request.CertificatePublicKey = attrs["certificate_pem"]
        request.CertificatePrivateKey = attrs["private_key_pem"].reveal()
        return str(session.provider_context.sdk_client("ssl").UploadCertificate(request)
                   .CertificateId)


def verified(cli: Any) -> dict[str, dict[str, str]]:
    result = cli("verify", STACK, "--requests", "4", "--json")
    checks = {c["check"]: c for c in json.loads(result.out)["checks"]}
    checks["_code"] = {"result": str(result.code)}
    return checks


def test_dual_certificates_on_a_listener(workdir, cli):
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    ids = upload_ids(workdir)
    listener = cloud_listener(workdir)
    cert = listener["Certificate"]
    assert (cert["SSLMode"], cert["CertId"], cert["ExtCertIds"], cert["CertCaId"]) == (
        "MUTUAL", ids["server-rsa"], [ids["server-ecdsa"]], ids["ca"])
    assert no_op_calls(workdir / STACK) == {"DescribeCertificates": 1, "DescribeListeners": 1,
                                    "DescribeLoadBalancers": 1, "DescribeTargets": 1}

    checks = verified(cli)
    assert checks["_code"]["result"] == "0", checks
    assert checks["dual-certificates"]["result"] == "pass"
    assert checks["dual-certificates"]["reason"] == (
        "a client gets the certificate its offer can use: RSA server-rsa, ECDSA server-ecdsa")

    # drift through the SDK: the listener left with its RSA certificate alone
    modify_listener(workdir, {"Certificate": {
        "SSLMode": "MUTUAL", "CertId": ids["server-rsa"], "CertCaId": ids["ca"]}})
    checks = verified(cli)
    assert checks["_code"]["result"] == "1"
    assert checks["dual-certificates"]["result"] == "fail"
    assert "server-ecdsa is not offered" in checks["dual-certificates"]["reason"]
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert re.search(r'\+ extra_certificate_ids += \["', planned.out), planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    after = cloud_listener(workdir)
    assert after["ListenerId"] == listener["ListenerId"]  # undone in place
    assert after["Certificate"]["ExtCertIds"] == [ids["server-ecdsa"]]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    assert verified(cli)["dual-certificates"]["result"] == "pass"

    # made single in place: the ECDSA certificate leaves the listener, its upload is deleted
    edit(workdir / STACK, "certificate: [server-rsa, server-ecdsa]", "certificate: server-rsa")
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Plan: 0 to add, 1 to change, 1 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    single = cloud_listener(workdir)
    assert single["ListenerId"] == listener["ListenerId"]
    assert (single["Certificate"]["CertId"], single["Certificate"]["ExtCertIds"]) == (
        ids["server-rsa"], [])
    checks = verified(cli)
    assert "dual-certificates" not in checks and checks["_code"]["result"] == "0", checks

    # drift the other way: a second certificate added outside mtlsform is taken off again
    extra = upload_by_hand(workdir, "certificate.server-ecdsa")
    modify_listener(workdir, {"MultiCertInfo": {"SSLMode": "MUTUAL", "CertList": [
        {"CertId": ids["server-rsa"]}, {"CertId": extra}, {"CertId": ids["ca"]}]}})
    assert cloud_listener(workdir)["Certificate"]["ExtCertIds"] == [extra]
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert re.search(r'- extra_certificate_ids += \["', planned.out), planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cloud_listener(workdir)["Certificate"]["ExtCertIds"] == []
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    # and dual again, in place
    edit(workdir / STACK, "certificate: server-rsa", "certificate: [server-rsa, server-ecdsa]")
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cloud_listener(workdir)["ListenerId"] == listener["ListenerId"]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    destroyed = cli("destroy", STACK, "--auto-approve")
    assert destroyed.code == 0, destroyed.text


def test_dual_certificates_on_an_sni_domain(workdir, cli):
    edit(workdir / STACK, "    port: 443\n    tls: {mode: mutual, certificate: [server-rsa, "
         "server-ecdsa], client_ca: ca}\n    rules:\n      - {domain: www.example.com, url: /, "
         "backends: [rs-1, rs-2]}",
         "    port: 443\n    sni: true\n    rules:\n      - domain: www.example.com\n"
         "        tls: {mode: mutual, certificate: [server-rsa, server-ecdsa], client_ca: ca}\n"
         "        backends: [rs-1, rs-2]")
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    ids = upload_ids(workdir)
    [rule] = cloud_listener(workdir)["Rules"]
    assert (rule["Certificate"]["CertId"], rule["Certificate"]["ExtCertIds"]) == (
        ids["server-rsa"], [ids["server-ecdsa"]])
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    checks = verified(cli)
    assert checks["dual-certificates"]["result"] == "pass", checks
    # made single in place (ModifyDomainAttributes), the rule kept
    edit(workdir / STACK, "certificate: [server-rsa, server-ecdsa]", "certificate: server-ecdsa")
    assert cli("apply", STACK, "--auto-approve").code == 0
    [after] = cloud_listener(workdir)["Rules"]
    assert after["LocationId"] == rule["LocationId"]
    assert (after["Certificate"]["CertId"], after["Certificate"]["ExtCertIds"]) == (
        ids["server-ecdsa"], [])
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    assert cli("destroy", STACK, "--auto-approve").code == 0
