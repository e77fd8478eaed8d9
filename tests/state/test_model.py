"""The state model: pure updates, order, lookups, validation."""

from __future__ import annotations

from dataclasses import replace

import pytest

import mtlsform.resources  # noqa: F401  (registers the types, in the order addresses sort)
from mtlsform.addresses import Address
from mtlsform.sensitive import Sensitive
from mtlsform.state import (
    OutputValue,
    PendingOperation,
    ResourceState,
    State,
    new_deposed_key,
)
from tests.state.samples import sample_state

LB = Address.parse("load_balancer.web")


def test_empty_state_has_a_fresh_lineage_and_serial_zero():
    a, b = State.empty("example"), State.empty("example")
    assert a.serial == 0 and a.resources == () and dict(a.outputs) == {}
    assert a.lineage != b.lineage


def test_updates_return_new_states_and_leave_the_old_one_alone():
    empty = State.empty("example")
    one = empty.with_resource(ResourceState(LB, {"id": "lb-1"}))
    assert empty.resources == ()
    assert one.get(LB).attributes == {"id": "lb-1"}
    two = one.with_resource(ResourceState(LB, {"id": "lb-2"}))
    assert [r.attributes["id"] for r in two.resources] == ["lb-2"]  # replaced, not added
    assert two.without_resource(LB).resources == ()
    assert two.without_resource("listener.nothing") is two  # absent is fine


def test_resources_are_kept_in_address_order_whatever_the_insertion_order():
    addresses = ['target.https["a/"].rs-1', "listener.https", "certificate.ca",
                 'rule.https["a/"]', "load_balancer.web", "ssl_certificate.ca"]
    forward, backward = State.empty("s"), State.empty("s")
    for a in addresses:
        forward = forward.with_resource(ResourceState(a))
    for a in reversed(addresses):
        backward = backward.with_resource(ResourceState(a))
    assert forward.resources == backward.resources
    assert [str(r.address) for r in forward.resources] == [
        "certificate.ca", "ssl_certificate.ca", "load_balancer.web", "listener.https",
        'rule.https["a/"]', 'target.https["a/"].rs-1']


def test_deposed_objects_live_beside_the_current_one():
    key = new_deposed_key()
    assert len(key) == 8 and int(key, 16) >= 0
    state = sample_state()
    address = "ssl_certificate.server"
    assert state.get(address).attributes["id"] == "cert-new"
    assert state.get(address, "0a1b2c3d").attributes["id"] == "cert-old"
    assert [r.deposed for r in state.deposed_of(address)] == ["0a1b2c3d"]
    assert state.deposed_of("certificate.ca") == ()
    gone = state.without_resource(address, "0a1b2c3d")
    assert gone.deposed_of(address) == () and gone.get(address) is not None
    assert len(state.resources_of_type("ssl_certificate")) == 2
    assert len(state.current()) == len(state.resources) - 1


def test_resource_values_are_checked():
    with pytest.raises(ValueError, match="deposed key"):
        ResourceState(LB, deposed="xyz")
    with pytest.raises(ValueError, match="not a JSON value"):
        ResourceState(LB, {"when": object()})
    with pytest.raises(ValueError, match="cannot be stored in JSON"):
        ResourceState(LB, {"x": float("nan")})
    with pytest.raises(ValueError, match="not a resource address"):
        ResourceState("nonsense")
    with pytest.raises(ValueError, match="twice"):
        State("s", "l", resources=(ResourceState(LB), ResourceState(LB)))


def test_attributes_are_detached_and_read_only():
    attrs = {"tags": ("a", "b"), "nested": {"k": 1}}
    r = ResourceState(LB, attrs)
    attrs["nested"]["k"] = 2
    assert r.attributes == {"tags": ["a", "b"], "nested": {"k": 1}}  # tuples became lists
    with pytest.raises(TypeError):
        r.attributes["new"] = 1  # type: ignore[index]
    assert r.type == "load_balancer"


def test_dependencies_are_sorted_addresses_without_duplicates():
    r = ResourceState("listener.https", dependencies=["ssl_certificate.s", "load_balancer.web",
                                                      "load_balancer.web"])
    assert r.dependencies == (Address.parse("ssl_certificate.s"), LB)


def test_same_content_ignores_serial_and_compares_values():
    state = sample_state()
    assert state.same_content(replace(state, serial=9))
    rebuilt = sample_state()  # equal content, all new objects
    assert rebuilt.same_content(state)
    changed = state.with_resource(ResourceState(LB, {"id": "lb-other"}))
    assert not changed.same_content(state)
    other_secret = state.with_resource(
        ResourceState("certificate.ca", {**state.get("certificate.ca").attributes,
                                         "private_key_pem": Sensitive("other")}))
    assert not other_secret.same_content(state)


def test_outputs_holding_a_secret_are_sensitive_as_a_whole():
    out = OutputValue({"key": Sensitive("k"), "name": "n"})
    assert out.sensitive and isinstance(out.value, Sensitive)
    assert out.value.reveal() == {"key": "k", "name": "n"}
    assert OutputValue("x", sensitive=True).value == Sensitive("x")
    plain = State.empty("s").with_outputs({"vip": "1.2.3.4"})
    assert plain.outputs["vip"] == OutputValue("1.2.3.4", False)


def test_pending_operations_are_added_and_cleared_by_id():
    op = PendingOperation.begin("listener.https", "create", {"port": 443})
    assert len(op.op_id) == 32 and op.started_at.endswith("Z")
    state = State.empty("s").with_pending(op)
    assert state.pending(op.op_id) == op
    assert state.without_pending(op.op_id).pending_operations == ()
    assert state.without_pending("unknown") is state


def test_pending_operation_details_may_not_hold_secrets():
    with pytest.raises(ValueError, match="sensitive"):
        PendingOperation.begin("certificate.ca", "create", {"key": Sensitive("k")})


def test_pure_updates_give_the_state_a_full_construction_gives() -> None:
    # with_resource/without_resource place records by bisection and share or patch the
    # lookup index instead of sorting and indexing every resource again: same result.
    import random

    rng = random.Random(12)
    state = State(stack="s", lineage="l")
    for step in range(300):
        name = f'rule.l["d{rng.randrange(40)}/"]'
        deposed = rng.choice([None, None, "0a1b2c3d"])
        if rng.random() < 0.3 and state.resources:
            victim = rng.choice(state.resources)
            updated = state.without_resource(victim.address, victim.deposed)
            expected = tuple(r for r in state.resources if r.key != victim.key)
        else:
            record = ResourceState(name, {"id": str(step)}, deposed=deposed)
            updated = state.with_resource(record)
            expected = State(stack="s", lineage="l", resources=(
                *(r for r in state.resources if r.key != record.key), record)).resources
        assert updated.resources == expected, step
        assert all(updated.get(r.address, r.deposed) is r for r in updated.resources)
        op = PendingOperation(f"{step:032x}", name, "create", f"2026-01-01T00:00:{step % 60:02}Z")
        state = updated.with_pending(op).without_pending(op.op_id)
        assert state.pending_operations == () and state.resources == expected


def test_many_puts_at_once_give_what_one_put_each_gives() -> None:
    # with_resources_put is with_resource for each record in one rebuild (a later record of
    # the same key wins): the executor records a refresh's changes through it.
    import random

    rng = random.Random(7)
    state = State(stack="s", lineage="l")
    for round_ in range(40):
        records = [ResourceState(f'rule.l["d{rng.randrange(30)}/"]', {"id": f"{round_}-{i}"},
                                 deposed=rng.choice([None, None, "0a1b2c3d"]))
                   for i in range(rng.randrange(6))]
        one_each = state
        for record in records:
            one_each = one_each.with_resource(record)
        at_once = state.with_resources_put(records)
        assert at_once.resources == one_each.resources, round_
        assert all(at_once.get(r.address, r.deposed) is r for r in at_once.resources)
        state = at_once
    assert state.with_resources_put([]) is state


def test_many_drops_at_once_give_what_one_drop_each_gives() -> None:
    # without_resources is without_resource for each key in one rebuild (absent keys are
    # fine): a delete drops the records of what it took with it through it.
    import random

    rng = random.Random(11)
    state = State(stack="s", lineage="l").with_resources_put(
        ResourceState(f'rule.l["d{n}/"]', {"id": str(n)}, deposed=deposed)
        for n in range(30) for deposed in (None, "0a1b2c3d"))
    for round_ in range(20):
        keys = [(Address.parse(f'rule.l["d{rng.randrange(40)}/"]'),
                 rng.choice([None, "0a1b2c3d"])) for _ in range(rng.randrange(5))]
        one_each = state
        for address, deposed in keys:
            one_each = one_each.without_resource(address, deposed)
        at_once = state.without_resources(keys)
        assert at_once.resources == one_each.resources, round_
        assert all(at_once.get(r.address, r.deposed) is r for r in at_once.resources)
        assert all(at_once.get(a, d) is None for a, d in keys)
        state = at_once
    assert state.without_resources([]) is state
