"""Health-check type, source and gRPC codes (stacks/health-checks.yaml) through the whole
engine on the embedded emulator: applied as declared (CheckType, SourceIpType, ExtendedCode),
a no-op plan within its call budget, a change made in place, drift made through the SDK shown
and undone, a rule without them left with CLB's defaults, destroy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.engine.cloud import console_write, described_listeners, no_op_calls
from tests.engine.conftest import edit

STACK = Path("stacks/health-checks.yaml")


def cloud_checks(workdir: Path) -> dict[str, dict[str, Any]]:
    """Each rule's HealthCheck as DescribeListeners answers it (domain -> JSON), and its ID."""
    [listener] = described_listeners(workdir / STACK, "load_balancer.edge")
    return {rule["Domain"]: {**rule["HealthCheck"], "LocationId": rule["LocationId"]}
            for rule in listener["Rules"]}


def test_health_check_types_sources_and_grpc_codes(workdir, cli):
    applied = cli("apply", STACK, "--auto-approve")
    assert applied.code == 0, applied.text
    checks = cloud_checks(workdir)
    picked = {d: (c["CheckType"], c["SourceIpType"], c["ExtendedCode"])
              for d, c in checks.items()}
    assert picked == {"grpc.example.com": ("GRPC", 0, "0"),
                      "www.example.com": ("HTTP", 1, None),
                      "static.example.com": ("HTTP", 0, None)}
    assert checks["www.example.com"]["HttpCheckPath"] == "/healthz"
    assert no_op_calls(workdir / STACK) == {"DescribeCertificates": 1, "DescribeListeners": 1,
                                    "DescribeLoadBalancers": 1, "DescribeTargets": 1}

    # in place: the gRPC codes widened, the web check sent from the VIP again
    edit(workdir / STACK, 'grpc_codes: "0" ', 'grpc_codes: "0,12" ')
    edit(workdir / STACK, "source_ip: private ", "source_ip: vip ")
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    assert re.search(r'grpc_codes += "0" -> "0,12"', planned.out), planned.out
    assert re.search(r'- health_check.source_ip += "private"', planned.out), planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    after = cloud_checks(workdir)
    assert (after["grpc.example.com"]["ExtendedCode"],
            after["www.example.com"]["SourceIpType"]) == ("0,12", 0)
    assert {d: c["LocationId"] for d, c in after.items()} == {
        d: c["LocationId"] for d, c in checks.items()}  # the same rules
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    # drift through the SDK: the gRPC check turned into HTTP, the static one moved to 100.64
    console_write(workdir / STACK, "ModifyRule", {
        "LocationId": after["grpc.example.com"]["LocationId"],
        "HealthCheck": {"CheckType": "HTTP"}})
    console_write(workdir / STACK, "ModifyRule", {
        "LocationId": after["static.example.com"]["LocationId"],
        "HealthCheck": {"SourceIpType": 1}})
    planned = cli("plan", STACK, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Objects have changed outside of mtlsform:" in planned.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out
    assert cli("apply", STACK, "--auto-approve").code == 0
    undone = cloud_checks(workdir)
    assert (undone["grpc.example.com"]["CheckType"], undone["grpc.example.com"]["ExtendedCode"],
            undone["static.example.com"]["SourceIpType"]) == ("GRPC", "0,12", 0)
    assert cli("plan", STACK, "--detailed-exitcode").code == 0

    destroyed = cli("destroy", STACK, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
