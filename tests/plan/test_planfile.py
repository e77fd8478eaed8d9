"""Plan files round-trip everything a change carries: apply works from the file alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtlsform.addresses import Address
from mtlsform.errors import InputError
from mtlsform.plan.model import Action, Drift, OutputChange, Plan, Reason, ResourceChange
from mtlsform.plan.planfile import PLAN_FILE_FORMAT, read_plan, write_plan
from mtlsform.references import UNKNOWN, Ref
from mtlsform.stack import load_stack

REPO = Path(__file__).resolve().parents[2]
LISTENER = Address("listener", "https")
RULE = Address("rule", "https", "www.example.com/")
LB = Address("load_balancer", "web")


def every_field_plan() -> Plan:
    by_hand = Address("target", "https", "www.example.com/", "ins-rs1:8080")
    return Plan(
        stack="example", mode="normal", prior_lineage="5f0c2a8e-3d1b-4c6f-9e7a-1b2c3d4e5f60",
        prior_serial=7, refreshed=True, interrupted_operations=("listener.https",),
        changes=(
            ResourceChange(
                LISTENER, Action.UPDATE, Reason.CHANGED, detail=None,
                before={"id": "lbl-1", "name": "old"}, after={"id": "lbl-1", "name": "new"},
                config={"load_balancer_id": Ref(LB, "id"), "name": "new"},
                changed=("name",), dependencies=(LB,)),
            ResourceChange(
                RULE, Action.REPLACE_DESTROY_FIRST, Reason.CANNOT_UPDATE,
                detail="url cannot be changed in place", before={"id": "loc-1"},
                after={"id": UNKNOWN, "url": "/v2"}, config={"url": "/v2"},
                changed=("scheduler", "url"), replace_paths=("url",),
                sensitive=frozenset({"secret"}), dependencies=(LISTENER,)),
            ResourceChange(
                by_hand, Action.DELETE, Reason.UNMANAGED,
                detail="it exists in the cloud but not in the stack",
                before={"port": 8080}, dependencies=(RULE,),
                unmanaged={"rule_id": "loc-1", "instance_id": "ins-rs1", "port": 8080,
                           "weight": 5}),
            ResourceChange(
                Address("ssl_certificate", "server"), Action.DELETE, Reason.DEPOSED,
                before={"id": "cert-old"}, deposed="0a1b2c3d"),
            ResourceChange(LB, Action.NOOP, Reason.ADOPTED_MATCHES, detail="adopted",
                           before={"id": "lb-1"}, after={"id": "lb-1"}),
        ),
        drift=(Drift(LISTENER, {"name": "old"}, {"name": "console"}),
               Drift(RULE, {"id": "loc-1"}, None)),
        outputs=(OutputChange("vip", "127.64.0.1", None, True),),
    )


def test_a_saved_plan_round_trips_every_field(tmp_path):
    stack, diagnostics = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None, diagnostics
    plan = every_field_plan()
    write_plan(tmp_path / "p.plan", plan, stack)
    saved = read_plan(tmp_path / "p.plan")
    assert saved.plan == plan
    assert json.loads((tmp_path / "p.plan").read_text())["format_version"] == PLAN_FILE_FORMAT


def test_a_plan_file_of_the_first_format_is_refused_by_name(tmp_path):
    stack, _ = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None
    write_plan(tmp_path / "p.plan", every_field_plan(), stack)
    document = json.loads((tmp_path / "p.plan").read_text())
    document["format_version"] = 1
    (tmp_path / "p.plan").write_text(json.dumps(document))
    with pytest.raises(InputError, match="plan file of format 1") as info:
        read_plan(tmp_path / "p.plan")
    assert info.value.hint == "make the plan again with this mtlsform"


def test_a_plan_file_naming_an_unknown_type_is_refused(tmp_path):
    stack, _ = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None
    write_plan(tmp_path / "p.plan", every_field_plan(), stack)
    text = (tmp_path / "p.plan").read_text().replace('"listener.https"', '"gateway.https"')
    (tmp_path / "p.plan").write_text(text)
    with pytest.raises(InputError, match="unknown resource type 'gateway'"):
        read_plan(tmp_path / "p.plan")
