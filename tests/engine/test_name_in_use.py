"""A load balancer whose name another CLB of the region holds already: CLB gives the new one a
generated name (as documented for CreateLoadBalancer); apply sets the declared name on it at
once, says why, and the next plan is empty. Both CLBs keep the name; the other is untouched."""

from __future__ import annotations

import json
from pathlib import Path

from tencentcloud.clb.v20180317 import models

from mtlsform.session import open_session
from tests.engine.conftest import clb_made_by_hand, stack_at

EXAMPLE = Path("stacks/example.yaml")


def names(workdir: Path) -> dict[str, str]:
    with open_session(stack_at(workdir / EXAMPLE), operation="look") as session:
        answer = session.provider_context.sdk_client("clb").DescribeLoadBalancers(
            models.DescribeLoadBalancersRequest())
        return {lb["LoadBalancerId"]: lb["LoadBalancerName"]
                for lb in json.loads(answer.to_json_string())["LoadBalancerSet"]}


def test_a_name_in_use_is_set_on_the_new_load_balancer(workdir, cli):
    other = clb_made_by_hand(workdir, EXAMPLE, name="example-clb")
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    with open_session(stack_at(workdir / EXAMPLE), operation="look") as session:
        ours = session.state.get("load_balancer.web").attributes["id"]
    assert (f"load_balancer.web: the name 'example-clb' is in use by another load balancer of "
            f"the region, so CLB named {ours} '{ours}'; it is renamed 'example-clb', as the "
            "stack declares.") in applied.text
    assert names(workdir) == {other: "example-clb", ours: "example-clb"}
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert cli("destroy", EXAMPLE, "--auto-approve").code == 0
    assert names(workdir) == {other: "example-clb"}  # the other one is not the stack's
