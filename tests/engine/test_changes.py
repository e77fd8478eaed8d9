"""Plans and applies of changes: in-place updates, both kinds of replacement, removals,
renewal, adoption, and the machine-readable plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tencentcloud.clb.v20180317 import models

from mtlsform.plan.model import Action, Reason
from mtlsform.session import open_session
from tests.engine.conftest import clb_made_by_hand, edit, stack_at

EXAMPLE = Path("stacks/example.yaml")


def certificates_in_cloud(workdir: Path) -> list[str]:
    with open_session(stack_at(workdir / EXAMPLE), operation="check") as session:
        from tencentcloud.ssl.v20191205 import models as ssl_models

        ssl = session.provider_context.sdk_client("ssl")
        found = ssl.DescribeCertificates(ssl_models.DescribeCertificatesRequest())
    return sorted(c.CertificateId for c in found.Certificates or [])


def test_port_change_replaces_listener_rules_and_targets(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, "port: 443", "port: 8443")
    planned = cli("plan", EXAMPLE)
    assert "# listener.https must be replaced (destroyed, then created)" in planned.out
    assert "~ port             = 443 -> 8443 # forces replacement" in planned.out
    assert 'rule.https["www.example.com/"] must be replaced' in planned.out
    assert "Plan: 4 to add, 0 to change, 4 to destroy." in planned.out
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    with open_session(stack_at(workdir / EXAMPLE), operation="check") as session:
        lb = session.state.get("load_balancer.web").attributes["id"]
        request = models.DescribeListenersRequest()
        request.LoadBalancerId = lb
        listeners = session.provider_context.sdk_client("clb").DescribeListeners(request)
    assert [(x.Port, len(x.Rules)) for x in listeners.Listeners] == [(8443, 1)]


def test_new_server_certificate_is_uploaded_before_the_old_one_goes(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    before = certificates_in_cloud(workdir)
    edit(workdir / EXAMPLE, "validity_days: 365\n    renew_before_days: 30",
         "validity_days: 300\n    renew_before_days: 30")
    planned = cli("plan", EXAMPLE)
    assert "# certificate.server must be replaced (created, then the old one destroyed)" \
        in planned.out
    assert "# ssl_certificate.server must be replaced" in planned.out
    assert "~ listener.https" in planned.out
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    lines = applied.err.splitlines()
    upload = lines.index("ssl_certificate.server: Creating...")
    switch = lines.index("listener.https: Modifying...")
    delete_old = lines.index("ssl_certificate.server (delete old): Destroying...")
    assert upload < switch < delete_old
    after = certificates_in_cloud(workdir)
    assert len(after) == len(before) == 2 and after != before
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_removing_a_rule_deletes_it_and_its_targets(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    text = (workdir / EXAMPLE).read_text()
    extra = text.replace("        backends: [rs-1, rs-2]",
                         "        backends: [rs-1, rs-2]\n      - domain: api.example.com\n"
                         "        backends: [rs-1]")
    (workdir / EXAMPLE).write_text(extra)
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    (workdir / EXAMPLE).write_text(text)
    planned = cli("plan", EXAMPLE)
    assert "Plan: 0 to add, 0 to change, 2 to destroy." in planned.out
    assert "(it is no longer in the stack)" in planned.out
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_certificate_in_its_renewal_window_is_replaced(workdir, cli):
    edit(workdir / EXAMPLE, "validity_days: 365\n    renew_before_days: 30",
         "validity_days: 20\n    renew_before_days: 10")
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    with open_session(stack_at(workdir / EXAMPLE), operation="plan") as session:
        later = datetime.now(UTC) + timedelta(days=11)
        plan = session.plan(now=later)
    changes = {str(c.address): c for c in plan.actionable}
    server = changes["certificate.server"]
    assert server.action is Action.REPLACE_CREATE_FIRST
    assert server.reason is Reason.EXPIRING
    assert server.detail.endswith(" days left, renew_before_days 10)"), server.detail
    assert changes["ssl_certificate.server"].action is Action.REPLACE_CREATE_FIRST
    assert changes["listener.https"].action is Action.UPDATE
    assert "certificate.ca" not in changes


def test_adopted_load_balancer_is_used_and_never_deleted(workdir, cli):
    lb_id = clb_made_by_hand(workdir, EXAMPLE)
    edit(workdir / EXAMPLE, "    name: example-clb", f"    id: {lb_id}")
    planned = cli("plan", EXAMPLE)
    assert "Plan: 9 to add, 0 to change, 0 to destroy." in planned.out
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "# load_balancer.web will be forgotten" in destroyed.out
    with open_session(stack_at(workdir / EXAMPLE), operation="check") as session:
        clb = session.provider_context.sdk_client("clb")
        found = clb.DescribeLoadBalancers(models.DescribeLoadBalancersRequest())
        request = models.DescribeListenersRequest()
        request.LoadBalancerId = lb_id
        listeners = clb.DescribeListeners(request)
    assert [lb.LoadBalancerId for lb in found.LoadBalancerSet] == [lb_id]
    assert listeners.TotalCount == 0


def test_plan_json_has_the_familiar_shape_and_no_secrets(workdir, cli):
    planned = cli("plan", EXAMPLE, "--json")
    assert planned.code == 0
    document = json.loads(planned.out)
    assert document["summary"] == {"add": 10, "change": 0, "destroy": 0, "forget": 0}
    changes = {c["address"]: c for c in document["resource_changes"]}
    server = changes["certificate.server"]["change"]
    assert server["actions"] == ["create"]
    assert server["after_unknown"]["fingerprint"] is True
    assert server["after_sensitive"] == {"private_key_pem": True}
    assert "private_key_pem" not in server["after"]
    target = changes['target.https["www.example.com/"].rs-1']
    assert target["index"] == "www.example.com/" and target["sub"] == "rs-1"
    assert target["change"]["after"]["weight"] == 10
    assert document["output_changes"]["vip"]["after_unknown"] is True


def test_renames_happen_in_place_and_keep_the_vip(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    stack = stack_at(workdir / EXAMPLE)
    with open_session(stack, operation="check") as session:
        before = dict(session.state.get("load_balancer.web").attributes)
        upload = session.state.get("ssl_certificate.server").attributes["id"]
        from tencentcloud.ssl.v20191205 import models as ssl_models

        alias = ssl_models.ModifyCertificateAliasRequest()
        alias.CertificateId, alias.Alias = upload, "renamed-in-the-console"
        session.provider_context.sdk_client("ssl").ModifyCertificateAlias(alias)
    edit(workdir / EXAMPLE, "name: example-clb", "name: shop-clb")
    planned = cli("plan", EXAMPLE)
    assert "# load_balancer.web will be updated in place" in planned.out
    assert '~ name' in planned.out and '"example-clb" -> "shop-clb"' in planned.out
    assert "# ssl_certificate.server will be updated in place" in planned.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    with open_session(stack_at(workdir / EXAMPLE), operation="apply") as session:
        session.provider_context.emulator.reset_stats()
        result, _ = session.apply(session.plan())
        assert result.ok
        calls = session.provider_context.emulator_stats()["calls"]
        after = session.state.get("load_balancer.web").attributes
        info = session.provider.read_load_balancers([after["id"]])[after["id"]]
        certs = session.provider.read_certificates([upload])
    assert calls.get("ModifyLoadBalancerAttributes") == 1
    assert calls.get("ModifyCertificateAlias") == 1
    assert "CreateLoadBalancer" not in calls and "UploadCertificate" not in calls
    assert (after["id"], after["vip"]) == (before["id"], before["vip"])
    assert info.name == "shop-clb"
    assert certs[upload].alias == "example-server"
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
