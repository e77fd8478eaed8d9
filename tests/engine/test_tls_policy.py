"""The TLS policy (stacks/tls-policy.yaml) against the embedded emulator: applied as customized
configurations bound to the listener's and the domain's domains, a no-op plan within its call
budget, drift made through the SDK shown and undone, a change made in place, and destroyed."""

from __future__ import annotations

import json
from pathlib import Path

from tencentcloud.clb.v20180317 import models

from mtlsform.session import open_session
from tests.engine.conftest import stack_at

STACK = Path("stacks/tls-policy.yaml")
STRICT = ("ssl_protocols TLSv1.2 TLSv1.3;\nssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:"
          "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
          "ECDHE-RSA-AES256-GCM-SHA384;")


def _configs(session) -> dict[str, tuple[str, list[str]]]:
    """Config ID -> (text, bound listener/domain pairs), read through the SDK."""
    clb = session.provider_context.sdk_client("clb")
    request = models.DescribeCustomizedConfigListRequest()
    request.ConfigType = "CLB"
    listed = clb.DescribeCustomizedConfigList(request).ConfigList
    bound = clb.DescribeCustomizedConfigAssociateList(
        models.DescribeCustomizedConfigAssociateListRequest()).BindList
    return {c.UconfigId: (c.ConfigContent, sorted(f"{b.ListenerId}/{b.Domain}" for b in bound
                                                  if b.UconfigId == c.UconfigId))
            for c in listed}


def test_policy_applies_keeps_its_budget_drift_is_undone_updates_in_place_and_destroys(
        workdir, cli):
    assert cli("apply", STACK, "--auto-approve").code == 0
    stack = stack_at(workdir / STACK)
    with open_session(stack, operation="plan") as session:
        state = session.state
        listener = state.get("listener.https").attributes["id"]
        sni = state.get("listener.sni").attributes["id"]
        policy = state.get("tls_policy.https").attributes
        domain_policy = state.get('tls_policy.sni["api.example.com"]').attributes
        assert policy["content"] == STRICT
        assert _configs(session) == {
            policy["id"]: (STRICT, [f"{listener}/www.example.com"]),
            domain_policy["id"]: (domain_policy["content"], [f"{sni}/api.example.com"])}
        assert domain_policy["content"].startswith("ssl_protocols TLSv1.2 TLSv1.3;\n")

        session.provider_context.emulator.reset_stats()
        plan = session.plan()
        calls = session.provider_context.emulator_stats()["calls"]
    assert not plan.has_changes
    # 1 CLB, 3 uploads: the budget is 2 per CLB + 1 per 100 certificates + one call per kind
    # of new collection (the configurations, and their bindings) per CLB.
    assert calls == {"DescribeCertificates": 1, "DescribeListeners": 1,
                     "DescribeLoadBalancers": 1, "DescribeTargets": 1,
                     "DescribeCustomizedConfigList": 1,
                     "DescribeCustomizedConfigAssociateList": 1}

    with open_session(stack, operation="tamper") as session:  # weakened through the SDK
        request = models.SetCustomizedConfigForLoadBalancerRequest()
        request.from_json_string(json.dumps({
            "OperationType": "UPDATE", "UconfigId": policy["id"],
            "ConfigContent": "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"}))
        session.provider_context.sdk_client("clb").SetCustomizedConfigForLoadBalancer(request)
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert "# tls_policy.https has changed" in planned.out
    # the weakening, as people read it
    assert ('~ protocols = ["TLSv1.2", "TLSv1.3"] -> ["TLSv1", "TLSv1.1", "TLSv1.2", '
            '"TLSv1.3"]') in planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    text = (workdir / STACK).read_text()
    (workdir / STACK).write_text(text.replace("policy: intermediate", "policy: modern"))
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2 and "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    with open_session(stack_at(workdir / STACK), operation="plan") as session:
        configs = _configs(session)
        assert configs[domain_policy["id"]][0] == "ssl_protocols TLSv1.3;"  # the same config
        assert configs[policy["id"]][0] == STRICT

    assert cli("destroy", STACK, "--auto-approve").code == 0
    with open_session(stack_at(workdir / STACK), operation="plan") as session:
        assert _configs(session) == {}


def test_verify_refuses_old_versions_and_a_weak_cipher_and_fails_when_weakened(workdir, cli):
    assert cli("apply", STACK, "--auto-approve").code == 0
    verified = cli("verify", STACK, "--requests", "4", "--json")
    assert verified.code == 0, verified.text
    checks = {(c["listener"], c["domain"], c["check"]): c
              for c in json.loads(verified.out)["checks"]}
    versions = checks[("https", "www.example.com", "tls-versions")]
    assert versions["result"] == "pass" and "refused TLSv1: " in versions["reason"]
    assert "TLSv1.1: " in versions["reason"]
    cipher = checks[("https", "www.example.com", "weak-cipher")]
    assert (cipher["result"], cipher["details"]["cipher"]) == (
        "pass", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA")
    assert checks[("sni", "api.example.com", "tls-versions")]["result"] == "pass"
    assert ("sni", "www.example.com", "tls-versions") not in checks  # no policy: not checked

    stack = stack_at(workdir / STACK)
    with open_session(stack, operation="tamper") as session:
        policy = session.state.get("tls_policy.https").attributes["id"]
        request = models.SetCustomizedConfigForLoadBalancerRequest()
        request.from_json_string(json.dumps({
            "OperationType": "UPDATE", "UconfigId": policy,
            "ConfigContent": "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"}))
        session.provider_context.sdk_client("clb").SetCustomizedConfigForLoadBalancer(request)
    weakened = cli("verify", STACK, "--requests", "4")
    assert weakened.code == 1
    rows = [line for line in weakened.out.splitlines() if line.startswith("https ")]
    failed = [row for row in rows if "  fail  " in row]
    assert len(failed) == 2, weakened.out
    assert "accepted TLSv1 (TLSv1 " in failed[0]
    assert "the policy allows only TLSv1.2, TLSv1.3" in weakened.out
    assert "accepted TLSv1.2 ECDHE-RSA-AES128-SHA (offered only" in weakened.out  # RSA key
