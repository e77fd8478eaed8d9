"""The walk-through on the embedded emulator: apply, no-op plan, one in-place change, destroy."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from mtlsform.sensitive import Sensitive
from mtlsform.session import open_session
from tests.engine.conftest import edit, stack_at

EXAMPLE = Path("stacks/example.yaml")


def world_objects(workdir: Path) -> dict:
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())
    return world


def test_apply_then_no_op_plan(workdir, cli):
    applied = cli("apply", EXAMPLE, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Apply complete! Resources: 10 added, 0 changed, 0 destroyed." in applied.err
    assert 'vip = "127.64.' in applied.out
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert "No changes." in planned.out
    state_file = workdir / "stacks/.mtlsform/example.state.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    for name in ("client.crt", "client.key", "ca.crt", "client.p12"):
        assert (workdir / "stacks/out/client-1" / name).is_file()


def test_weight_change_is_one_update_applied_with_one_modify_target_weight(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    edit(workdir / EXAMPLE, "rs-2: {instance: ins-rs2, port: 80, weight: 10}",
         "rs-2: {instance: ins-rs2, port: 80, weight: 30}")
    planned = cli("plan", EXAMPLE, "--detailed-exitcode")
    assert planned.code == 2
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    assert '~ target.https["www.example.com/"].rs-2' in planned.out
    assert "~ weight           = 10 -> 30" in planned.out

    stack = stack_at(workdir / EXAMPLE)
    with open_session(stack, operation="apply") as session:
        emulator = session.provider_context.emulator
        plan = session.plan()
        emulator.reset_stats()
        result, _ = session.apply(plan, p12_password=Sensitive("x"))
        assert result.ok
        calls = session.provider_context.emulator_stats()["calls"]
    writes = {a: n for a, n in calls.items() if not a.startswith("Describe")}
    assert writes == {"ModifyTargetWeight": 1}
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0


def test_destroy_leaves_nothing_of_the_stack(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "Destroy complete! Resources: 0 added, 0 changed, 10 destroyed." in destroyed.err
    stack = stack_at(workdir / EXAMPLE)
    with open_session(stack, operation="check") as session:
        clb = session.provider_context.sdk_client("clb")
        ssl = session.provider_context.sdk_client("ssl")
        from tencentcloud.clb.v20180317 import models as clb_models
        from tencentcloud.ssl.v20191205 import models as ssl_models

        lbs = clb.DescribeLoadBalancers(clb_models.DescribeLoadBalancersRequest())
        certs = ssl.DescribeCertificates(ssl_models.DescribeCertificatesRequest())
    assert lbs.TotalCount == 0
    assert certs.TotalCount == 0
    assert cli("state", "list", EXAMPLE).out == ""
