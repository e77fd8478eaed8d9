"""Multi-domain rules (stacks/multi-domain.yaml) through the whole engine on the embedded
emulator: two rules of one domain list (CreateRule `Domains`, read back from DescribeListeners
`Rules[].Domains`), each domain served with the list's certificate and TLS policy and checked
by `verify` (the default domain named by its second name, without SNI too), a no-op plan
within its call budget, drift made through the SDK (ModifyDomainAttributes `NewDomains`)
shown and undone in place, a domain added in place, the list made a single domain in place
and back; destroy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from mtlsform.session import open_session
from tests.engine.cloud import console_write, described_listeners, no_op_calls
from tests.engine.conftest import edit, stack_at

STACK = Path("stacks/multi-domain.yaml")
LIST = "domain: [www.example.com, example.com]"


def cloud_rules(workdir: Path) -> dict[str, dict[str, Any]]:
    """The listener's rules as DescribeListeners answers them (JSON), by first domain and URL."""
    [listener] = [listener for listener in described_listeners(workdir / STACK,
                                                               "load_balancer.edge")
                  if listener["Protocol"] == "HTTPS"]
    return {rule["Domain"] + rule["Url"]: rule for rule in listener["Rules"]}


def verified(cli: Any) -> tuple[int, list[dict[str, str]]]:
    result = cli("verify", STACK, "--requests", "4", "--json")
    return result.code, json.loads(result.out)["checks"]


def test_a_multi_domain_rule_from_create_to_destroy(workdir, cli):
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    rules = cloud_rules(workdir)
    assert sorted(rules) == ["api.example.com/", "www.example.com/", "www.example.com/api"]
    ids = {key: rule["LocationId"] for key, rule in rules.items()}
    for key in ("www.example.com/", "www.example.com/api"):
        assert rules[key]["Domains"] == ["www.example.com", "example.com"]
        assert rules[key]["DefaultServer"] is True  # default_domain: example.com
    assert rules["api.example.com/"]["Domains"] == ["api.example.com"]
    # the budget: 2 per CLB, 1 per 100 certificates, 1 per kind of collection (the policy's)
    assert no_op_calls(workdir / STACK) == {
        "DescribeCertificates": 1, "DescribeListeners": 1, "DescribeLoadBalancers": 1,
        "DescribeTargets": 1, "DescribeCustomizedConfigList": 1,
        "DescribeCustomizedConfigAssociateList": 1}

    code, checks = verified(cli)
    assert code == 0, checks
    names = {(c["domain"], c["check"]) for c in checks if c["result"] == "pass"}
    # example.com is served and checked as a domain of its own: certificate, mutual TLS, the
    # default domain's certificate to a client without SNI
    assert {("example.com", "server-certificate"), ("example.com", "default-domain"),
            ("example.com", "no-client-certificate"), ("example.com", "request"),
            ("example.com", "tls-versions"), ("example.com", "weak-cipher"),
            ("example.com", "redirect")} <= names, \
        sorted(names)

    # drift through the SDK: example.com taken off the domain
    console_write(workdir / STACK, "ModifyDomainAttributes",
                  {"Domain": "www.example.com", "NewDomains": ["www.example.com"]})
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    assert planned.out.count('~ domains = ["www.example.com", "example.com"] -> null') == 2
    assert re.search(r"\+ domains += \[\"www.example.com\", \"example.com\"\]", planned.out)
    assert cli("apply", STACK, "--auto-approve").code == 0
    after = cloud_rules(workdir)
    assert {key: rule["LocationId"] for key, rule in after.items()} == ids  # in place
    assert after["www.example.com/"]["Domains"] == ["www.example.com", "example.com"]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    assert verified(cli)[0] == 0

    # a domain added to the list, in place
    wider = "domain: [www.example.com, example.com, shop.example.com]"
    edit(workdir / STACK, LIST, wider)
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    after = cloud_rules(workdir)
    assert {key: rule["LocationId"] for key, rule in after.items()} == ids
    assert after["www.example.com/api"]["Domains"] == [
        "www.example.com", "example.com", "shop.example.com"]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    # made a rule of one domain, in place (the default moves to it), and a list again
    edit(workdir / STACK, "- " + wider, "- domain: www.example.com")
    edit(workdir / STACK, "default_domain: example.com", "default_domain: www.example.com")
    refused = cli("plan", STACK)  # the HTTP redirect of example.com has no target any more
    assert refused.code == 1
    assert "listener 'https' has no rule for example.com/ to redirect to" in refused.err
    http_rule = "- domain: example.com          # a name"
    edit(workdir / STACK, http_rule, "- domain: www.example.com      # a name")
    assert cli("apply", STACK, "--auto-approve").code == 0
    after = cloud_rules(workdir)
    assert {key: rule["LocationId"] for key, rule in after.items()} == ids
    assert after["www.example.com/"]["Domains"] == ["www.example.com"]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    edit(workdir / STACK, "- domain: www.example.com\n        url: /",
         "- " + LIST + "\n        url: /")
    edit(workdir / STACK, "- domain: www.example.com      # a name", http_rule)
    assert cli("apply", STACK, "--auto-approve").code == 0
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    assert verified(cli)[0] == 0

    destroyed = cli("destroy", STACK, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "Destroy complete! Resources: 0 added, 0 changed, 20 destroyed." in destroyed.err


def test_import_generate_writes_a_multi_domain_rule_as_its_list(workdir, cli):
    assert cli("apply", STACK, "--auto-approve").code == 0
    with open_session(stack_at(workdir / STACK), operation="look") as session:
        lb_id = session.state.get("load_balancer.edge").attributes["id"]
    generated = cli("import", "--generate", lb_id, "--name", "brown", STACK)
    assert generated.code == 0, generated.text
    brown = yaml.safe_load(generated.out)
    [listener] = brown["listeners"].values()
    domains = {(str(rule["domain"]), rule["url"]) for rule in listener["rules"]}
    assert domains == {("api.example.com", "/"), ("['www.example.com', 'example.com']", "/"),
                       ("['www.example.com', 'example.com']", "/api")}
    (workdir / "stacks/brown.yaml").write_text(generated.out)
    valid = cli("validate", "stacks/brown.yaml")
    assert valid.code == 0, valid.text
    assert '["www.example.com/api"]' in generated.err, generated.err


def test_domains_split_merged_and_reordered_in_one_apply_each(workdir, cli):
    """A rule that takes a domain another rule gives up waits for it (the rules' exclusive
    keys): CreateRule or NewDomains would otherwise meet the old rule and be refused."""
    assert cli("apply", STACK, "--auto-approve").code == 0
    api_rule = "      - domain: api.example.com\n"
    own_rule = ("      - domain: example.com\n"
                "        tls: {certificate: www, client_ca: ca, policy: intermediate}\n"
                "        backends: [web-1]\n")

    # split: example.com leaves the list for a rule of its own
    edit(workdir / STACK, "- " + LIST, "- domain: www.example.com")
    edit(workdir / STACK, api_rule, own_rule + api_rule)
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    rules = cloud_rules(workdir)
    assert sorted(rules) == ["api.example.com/", "example.com/", "www.example.com/",
                             "www.example.com/api"]
    assert rules["www.example.com/"]["Domains"] == ["www.example.com"]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    # merged again: the rule of its own goes, the list takes example.com back
    edit(workdir / STACK, own_rule, "")
    edit(workdir / STACK, "- domain: www.example.com\n        url: /",
         "- " + LIST + "\n        url: /")
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    rules = cloud_rules(workdir)
    assert sorted(rules) == ["api.example.com/", "www.example.com/", "www.example.com/api"]
    assert rules["www.example.com/api"]["Domains"] == ["www.example.com", "example.com"]
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    # reordered: a new first domain is a new rule; it is created once the old one is gone
    edit(workdir / STACK, LIST, "domain: [example.com, www.example.com]")
    planned = cli("plan", STACK)
    assert "Plan: 7 to add, 0 to change, 7 to destroy." in planned.out, planned.out
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    rules = cloud_rules(workdir)
    assert sorted(rules) == ["api.example.com/", "example.com/", "example.com/api"]
    assert rules["example.com/"]["Domains"] == ["example.com", "www.example.com"]
    assert rules["example.com/"]["DefaultServer"] is True
    assert cli("plan", STACK, "--detailed-exitcode").code == 0
    assert verified(cli)[0] == 0
    assert cli("destroy", STACK, "--auto-approve").code == 0
