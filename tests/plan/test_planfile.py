"""Plan files round-trip everything a change carries: apply works from the file alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtlsform.addresses import Address
from mtlsform.errors import InputError, PlanError
from mtlsform.plan.model import Action, Drift, OutputChange, Plan, Reason, ResourceChange
from mtlsform.plan.planfile import (
    PLAN_FILE_FORMAT,
    check_signature,
    new_plan_key,
    read_plan,
    read_plan_file,
    require_signed,
    write_plan,
)
from mtlsform.references import UNKNOWN, Ref
from mtlsform.stack import load_stack
from mtlsform.state.model import State

REPO = Path(__file__).resolve().parents[2]
LISTENER = Address("listener", "https")
RULE = Address("rule", "https", "www.example.com/")
LB = Address("load_balancer", "web")
KEY = new_plan_key()
LINEAGE = "5f0c2a8e-3d1b-4c6f-9e7a-1b2c3d4e5f60"
STATE = State(stack="example", lineage=LINEAGE, serial=7, plan_key=KEY)
STATE_PATH = Path("stacks/.mtlsform/example.state.json")


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
    write_plan(tmp_path / "p.plan", plan, stack, KEY)
    saved = read_plan(tmp_path / "p.plan")
    assert saved.plan == plan
    assert json.loads((tmp_path / "p.plan").read_text())["format_version"] == PLAN_FILE_FORMAT


def test_a_plan_file_of_the_first_format_is_refused_by_name(tmp_path):
    stack, _ = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None
    write_plan(tmp_path / "p.plan", every_field_plan(), stack, KEY)
    document = json.loads((tmp_path / "p.plan").read_text())
    document["format_version"] = 1
    (tmp_path / "p.plan").write_text(json.dumps(document))
    with pytest.raises(InputError, match="plan file of format 1") as info:
        read_plan(tmp_path / "p.plan")
    assert info.value.hint == "make the plan again with this mtlsform"


def test_a_plan_file_naming_an_unknown_type_is_refused(tmp_path):
    stack, _ = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None
    write_plan(tmp_path / "p.plan", every_field_plan(), stack, KEY)
    text = (tmp_path / "p.plan").read_text().replace('"listener.https"', '"gateway.https"')
    (tmp_path / "p.plan").write_text(text)
    with pytest.raises(InputError, match="unknown resource type 'gateway'"):
        read_plan(tmp_path / "p.plan")


def _written(tmp_path: Path) -> Path:
    stack, _ = load_stack(REPO / "stacks/example.yaml", environ={})
    assert stack is not None
    write_plan(tmp_path / "p.plan", every_field_plan(), stack, KEY)
    return tmp_path / "p.plan"


def test_a_plan_file_as_written_passes_its_signature_check(tmp_path):
    check_signature(read_plan_file(_written(tmp_path)), STATE, STATE_PATH)


@pytest.mark.parametrize("old, new", [
    ('"name": "new"', '"name": "neW"'),       # one byte of a value
    ('"mode": ', '"mode":  '),                # layout only: the bytes are what is signed
    ('"refreshed": true', '"refreshed": false'),
])
def test_a_plan_file_changed_by_one_byte_is_refused(tmp_path, old, new):
    path = _written(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PlanError, match="the plan file was changed after it was written"):
        check_signature(read_plan_file(path), STATE, STATE_PATH)


def test_a_forged_signature_is_refused(tmp_path):
    path = _written(tmp_path)
    text = path.read_text()
    digest = text.rsplit("hmac-sha256:", 1)[1][:64]
    path.write_text(text.replace(digest, "0" * 64))
    with pytest.raises(PlanError, match="changed after it was written"):
        check_signature(read_plan_file(path), STATE, STATE_PATH)


def test_a_plan_file_without_its_signature_is_refused_before_any_state_is_read(tmp_path):
    path = _written(tmp_path)
    document = json.loads(path.read_text())
    del document["signature"]
    path.write_text(json.dumps(document, indent=2) + "\n")
    with pytest.raises(PlanError, match="has no signature"):
        require_signed(read_plan_file(path))


def test_a_signature_moved_off_the_last_line_matches_nothing(tmp_path):
    path = _written(tmp_path)
    document = json.loads(path.read_text())
    path.write_text(json.dumps({"signature": document.pop("signature"), **document}, indent=2))
    with pytest.raises(PlanError, match="changed after it was written"):
        check_signature(read_plan_file(path), STATE, STATE_PATH)


def test_a_plan_file_of_format_2_is_shown_but_never_applied(tmp_path):
    path = _written(tmp_path)
    document = json.loads(path.read_text())
    del document["signature"]
    document["format_version"] = 2
    path.write_text(json.dumps(document, indent=2))
    assert read_plan(path).plan == every_field_plan()
    with pytest.raises(PlanError, match="written before plan files were signed"):
        require_signed(read_plan_file(path))


def test_a_plan_file_made_against_another_state_is_refused_by_lineage(tmp_path):
    other = State(stack="example", lineage="00000000-0000-4000-8000-000000000000", serial=3,
                  plan_key=new_plan_key())
    with pytest.raises(PlanError, match="made against another state"):
        check_signature(read_plan_file(_written(tmp_path)), other, STATE_PATH)


def test_a_state_without_a_plan_key_cannot_have_signed_a_plan(tmp_path):
    keyless = State(stack="example", lineage=LINEAGE, serial=7)
    with pytest.raises(PlanError, match="holds no plan-signing key"):
        check_signature(read_plan_file(_written(tmp_path)), keyless, STATE_PATH)


def test_the_key_never_appears_in_the_plan_file(tmp_path):
    assert KEY.reveal() not in _written(tmp_path).read_text()
