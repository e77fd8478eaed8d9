"""The checks against a real in-process data plane: each passes, and fails for the right reason."""

from __future__ import annotations

import re
import ssl
from dataclasses import replace

import pytest

from mtlsform.verification import ClientKit, ExpectedBackend, RouteSpec, check_entry
from tests.verify.support import DOMAIN, policy

EQUAL = {"rs-1": 10, "rs-2": 10}


def run(entry, *, requests: int = 20, tolerance: str = "exact") -> dict:
    """The results by check id (per-rule checks of the single rule)."""
    results = check_entry(entry, requests=requests, tolerance=tolerance, kit=ClientKit())
    by_check = {r.check: r for r in results}
    assert len(by_check) == len(results)
    return by_check


def statuses(results: dict) -> dict[str, str]:
    return {check: result.status for check, result in results.items()}


ALL_PASS = {"server-certificate": "pass", "request": "pass", "no-client-certificate": "pass",
            "unknown-ca": "pass", "expired-certificate": "pass", "balance": "pass"}


def test_a_correct_mutual_deployment_passes_every_check(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    results = run(site.entry(pki, EQUAL))
    assert statuses(results) == ALL_PASS
    assert results["server-certificate"].details["presented"] == pki.server.fingerprint_sha256
    assert results["request"].details["backend"] in ("rs-1", "rs-2")
    assert results["no-client-certificate"].details["alert"] == "certificate required"
    assert results["unknown-ca"].details["alert"] == "unknown ca"
    assert results["expired-certificate"].details["alert"] == "certificate expired"
    assert results["balance"].details["counts"] == {"rs-1": 10, "rs-2": 10}
    assert "rs-1 10, rs-2 10 of 20" in results["balance"].reason


def test_a_one_way_deployment_passes_and_skips_the_refusals(site, pki, serve):
    serve(site.config(policy(pki.server, None), EQUAL))
    results = run(site.entry(pki, EQUAL, mutual=False))
    assert statuses(results) == {**ALL_PASS, "no-client-certificate": "skip",
                                 "unknown-ca": "skip", "expired-certificate": "skip"}
    assert "one-way TLS" in results["unknown-ca"].reason


def test_another_server_certificate_fails_a_with_both_fingerprints(site, pki, serve):
    serve(site.config(policy(pki.other_server, pki.ca), EQUAL))
    results = run(site.entry(pki, EQUAL))
    check = results["server-certificate"]
    assert check.status == "fail"
    presented, expected = pki.other_server.fingerprint_sha256, pki.server.fingerprint_sha256
    assert check.reason == (f"server presented certificate sha256 {presented[:16]}… "
                            f"(CN {DOMAIN}) but the stack's server is {expected[:16]}…")
    assert check.details == {"presented": presented, "expected": expected,
                             "certificate": "server"}
    # The other checks do not depend on the server certificate: they still run and pass.
    assert statuses(results) == {**ALL_PASS, "server-certificate": "fail"}


def test_a_certificate_not_valid_for_the_domain_fails_a(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    entry = site.entry(pki, EQUAL)
    # The stack's certificate is served, but it is checked for a name it does not carry.
    results = run(replace(entry, server_name="api.example.com"))
    check = results["server-certificate"]
    assert check.status == "fail"
    assert check.reason == ("certificate server is the stack's but is not valid for "
                            "api.example.com against the stack's CA ca: Hostname mismatch, "
                            "certificate is not valid for 'api.example.com'.")


def test_a_certificate_from_another_ca_than_the_stacks_fails_a(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    entry = site.entry(pki, EQUAL)
    other_trust = replace(entry.server, trust_pem=pki.other_ca.certificate_pem,
                          trust_label="the stack's CA other")
    check = run(replace(entry, server=other_trust))["server-certificate"]
    assert check.status == "fail"
    assert re.fullmatch(
        "certificate server is the stack's but is not valid for www.example.com against the "
        "stack's CA other: (self-signed certificate in certificate chain|unable to get local "
        "issuer certificate)", check.reason), check.reason


def test_a_listener_trusting_another_ca_fails_b_with_unknown_ca(site, pki, serve):
    serve(site.config(policy(pki.server, pki.other_ca), EQUAL))
    results = run(site.entry(pki, EQUAL))
    check = results["request"]
    assert check.status == "fail"
    assert check.reason == ("handshake refused by the server: unknown ca — the listener does "
                            "not trust the stack's client CA ca")
    assert results["balance"].status == "skip"
    # The refusals still hold: everything is refused.
    assert {results[c].status for c in ("no-client-certificate", "unknown-ca",
                                        "expired-certificate")} == {"pass"}


def test_a_backend_that_is_not_bound_answering_fails_b_and_d(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), {"rs-3": 10}))
    results = run(site.entry(pki, EQUAL), requests=6)
    request = results["request"]
    assert request.status == "fail"
    assert request.reason == ("answered 200 by rs-3 (instance ins-rs3), which is not bound to "
                              "this rule (bound: rs-1, rs-2)")
    balance = results["balance"]
    assert balance.status == "fail"
    assert balance.reason == ("rs-3 (instance ins-rs3) answered 6 of 6, but is not bound to "
                              "this rule (bound: rs-1, rs-2)")


def test_one_way_tls_where_the_stack_says_mutual_fails_all_three_refusals(site, pki, serve):
    serve(site.config(policy(pki.server, None), EQUAL))
    results = run(site.entry(pki, EQUAL), requests=4)
    assert results["no-client-certificate"].status == "fail"
    assert results["no-client-certificate"].reason.startswith(
        "a request without a client certificate was answered (200 OK by rs-")
    assert results["no-client-certificate"].reason.endswith(
        "— the listener does not ask for a client certificate (mutual TLS is off)")
    assert results["unknown-ca"].status == "fail"
    # The handshake without a client certificate was answered, so the listener asks for none:
    # that, not the CA or the expiry, is the reason given for every refusal.
    off = "the listener does not ask for a client certificate (mutual TLS is off)"
    for check in ("unknown-ca", "expired-certificate"):
        assert results[check].reason.endswith(f"— {off}"), results[check].reason
        assert "trusts a CA other" not in results[check].reason
    assert results["expired-certificate"].status == "fail"
    assert results["expired-certificate"].reason.startswith(
        "an expired client certificate signed by ca was answered (200 OK by rs-")
    assert results["request"].status == "pass"


def test_optional_client_verification_fails_only_the_missing_certificate_check(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca, verify="OPTIONAL"), EQUAL))
    results = run(site.entry(pki, EQUAL), requests=4)
    assert statuses(results) == {**ALL_PASS, "no-client-certificate": "fail"}


def test_wrong_weights_fail_d_with_the_counts(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), {"rs-1": 30, "rs-2": 10}))
    results = run(site.entry(pki, EQUAL))
    check = results["balance"]
    assert check.status == "fail"
    assert check.reason == ("rs-1 (weight 10) answered 15 of 20, expected 9-11; rs-2 (weight "
                            "10) answered 5 of 20, expected 9-11 (weights 10:10, exact, smooth "
                            "WRR tolerance)")
    assert check.details["counts"] == {"rs-1": 15, "rs-2": 5}


def test_the_same_weights_pass_d_exactly(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), {"rs-1": 30, "rs-2": 10}))
    check = run(site.entry(pki, {"rs-1": 30, "rs-2": 10}), requests=40)["balance"]
    assert check.status == "pass"
    assert check.details["counts"] == {"rs-1": 30, "rs-2": 10}


def test_a_backend_with_weight_0_that_gets_requests_fails_d(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    check = run(site.entry(pki, {"rs-1": 10, "rs-2": 0}), requests=10)["balance"]
    assert check.status == "fail"
    assert check.reason == "rs-2 has weight 0 but answered 5 of 10"


def test_a_draining_backend_with_weight_0_passes_d(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), {"rs-1": 10, "rs-2": 0}))
    check = run(site.entry(pki, {"rs-1": 10, "rs-2": 0}), requests=10)["balance"]
    assert check.status == "pass"
    assert check.details["counts"] == {"rs-1": 10, "rs-2": 0}


def test_no_target_answering_fails_b_with_the_load_balancers_answer(site, pki, serve):
    plane = serve(site.config(policy(pki.server, pki.ca), EQUAL))
    plane.stop_instance("ins-rs1")
    plane.stop_instance("ins-rs2")
    results = run(site.entry(pki, EQUAL), requests=4)
    check = results["request"]
    assert check.status == "fail"
    assert check.reason.startswith("answered 502 Bad Gateway")
    assert check.reason.endswith(", and no bound backend (rs-1, rs-2) says it sent it: an error "
                                 "of the load balancer or of an unnamed backend")
    assert results["balance"].status == "skip"


def test_nothing_listening_fails_a_and_skips_the_rest(site, pki):
    results = run(site.entry(pki, EQUAL))
    check = results["server-certificate"]
    assert check.status == "fail"
    assert check.reason == (f"no TLS handshake with {site.vip}:{site.port} for {DOMAIN}: "
                            f"cannot connect to {site.vip}:{site.port}: Connection refused")
    assert {r.status for c, r in results.items() if c != "server-certificate"} == {"skip"}


def test_a_ca_without_its_key_skips_the_expired_check(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    entry = site.entry(pki, EQUAL)
    entry = replace(entry, client_ca=replace(entry.client_ca, private_key_pem=None))
    check = run(entry, requests=2)["expired-certificate"]
    assert check.status == "skip"
    assert "the key of the client CA ca is not in the state" in check.reason


@pytest.mark.parametrize("protocol", ["GRPC"])
def test_grpc_rules_are_not_requested(site, pki, serve, protocol):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    entry = site.entry(pki, EQUAL)
    route = RouteSpec("/", "WRR", (ExpectedBackend("rs-1", 10, site.backend_port),),
                      backend_protocol=protocol)
    results = run(replace(entry, routes=(route,)), requests=2)
    assert results["request"].status == "skip"
    assert results["balance"].status == "skip"


def test_over_tls_1_2_a_refused_client_certificate_still_fails_b_not_a(site, pki, serve):
    """With TLS 1.2 the refusal ends the handshake itself, before the client holds the
    server's certificate: (a) cannot be read then and says so, and (b) carries the reason."""
    serve(site.config(policy(pki.server, pki.other_ca), EQUAL))
    results = check_entry(site.entry(pki, EQUAL), requests=4, tolerance="exact",
                          kit=ClientKit(maximum_version=ssl.TLSVersion.TLSv1_2))
    by_check = {r.check: r for r in results}
    assert by_check["server-certificate"].status == "skip"
    assert by_check["server-certificate"].reason.startswith(
        "the server refused every handshake before its certificate could be read (TLS alert ")
    assert by_check["request"].status == "fail"
    assert by_check["request"].reason == ("handshake refused by the server: unknown ca — the "
                                          "listener does not trust the stack's client CA ca")
    assert {by_check[c].status for c in ("no-client-certificate", "unknown-ca",
                                         "expired-certificate")} == {"pass"}


def test_over_tls_1_2_a_correct_deployment_passes(site, pki, serve):
    serve(site.config(policy(pki.server, pki.ca), EQUAL))
    results = check_entry(site.entry(pki, EQUAL), requests=4, tolerance="exact",
                          kit=ClientKit(maximum_version=ssl.TLSVersion.TLSv1_2))
    assert {r.check: r.status for r in results} == ALL_PASS

