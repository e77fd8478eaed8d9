"""The operation graph: ordering of creates, updates, deletes and both kinds of replacement."""

from __future__ import annotations

from mtlsform.addresses import Address
from mtlsform.apply.operations import Operation, build_operations
from mtlsform.plan.model import Action, Plan, Reason, ResourceChange

LB = Address("load_balancer", "web")
CERT = Address("ssl_certificate", "server")
LISTENER = Address("listener", "https")
RULE = Address("rule", "https", "www.example.com/")
TARGET = Address("target", "https", "www.example.com/", "rs-1")


def change(address, action, deps=(), before=None, after=None, reason=Reason.CHANGED,
           unmanaged=None):
    # The reason only explains: operations never look at it.
    return ResourceChange(address=address, action=action, dependencies=tuple(deps),
                          before=before, after=after, config={}, reason=reason,
                          unmanaged=unmanaged)


def order(graph) -> list[Operation]:
    return graph.dag.topological_order()


def before(ops: list[Operation], a: Operation, b: Operation) -> bool:
    return ops.index(a) < ops.index(b)


def test_creates_follow_dependencies():
    plan = Plan("s", "normal", (
        change(LB, Action.CREATE),
        change(CERT, Action.CREATE),
        change(LISTENER, Action.CREATE, [LB, CERT]),
        change(RULE, Action.CREATE, [LISTENER]),
        change(TARGET, Action.CREATE, [RULE]),
    ))
    graph = build_operations(plan, {})
    assert graph.dependencies[Operation(TARGET, "apply")] == {Operation(RULE, "apply")}
    assert graph.dependencies[Operation(LISTENER, "apply")] == {
        Operation(LB, "apply"), Operation(CERT, "apply")}


def test_destroy_deletes_the_parent_and_lets_the_cloud_take_its_children():
    recorded = {LISTENER: (LB, CERT), RULE: (LISTENER,), TARGET: (RULE,), LB: (), CERT: ()}
    plan = Plan("s", "destroy",
                tuple(change(a, Action.DELETE, deps) for a, deps in recorded.items()))
    graph = build_operations(plan, recorded)
    ops = order(graph)
    d = {a: Operation(a, "delete") for a in recorded}
    # The CLB's delete removes listeners, rules and targets: their records go after it.
    assert graph.cascaded == {d[LISTENER], d[RULE], d[TARGET]}
    assert before(ops, d[LB], d[LISTENER])
    assert before(ops, d[LISTENER], d[RULE])
    assert before(ops, d[RULE], d[TARGET])
    # A certificate bound to the listener can only go once the listener is really gone.
    assert before(ops, d[LB], d[CERT])


def test_delete_of_a_listener_alone_deletes_its_children_first_when_they_stay_bound():
    recorded = {LISTENER: (LB, CERT), CERT: ()}
    plan = Plan("s", "normal", (change(LISTENER, Action.DELETE), change(CERT, Action.DELETE)))
    graph = build_operations(plan, recorded)
    assert graph.cascaded == frozenset()
    assert before(order(graph), Operation(LISTENER, "delete"), Operation(CERT, "delete"))


def test_destroy_first_replacement_of_listener_recreates_its_rules_after_it():
    recorded = {LISTENER: (LB,), RULE: (LISTENER,), TARGET: (RULE,)}
    plan = Plan("s", "normal", (
        change(LISTENER, Action.REPLACE_DESTROY_FIRST, [LB], before={"port": 443},
               after={"port": 8443}),
        change(RULE, Action.REPLACE_DESTROY_FIRST, [LISTENER]),
        change(TARGET, Action.REPLACE_DESTROY_FIRST, [RULE]),
    ))
    graph = build_operations(plan, recorded)
    ops = order(graph)
    assert graph.cascaded == {Operation(RULE, "delete"), Operation(TARGET, "delete")}
    assert before(ops, Operation(LISTENER, "delete"), Operation(RULE, "delete"))
    assert before(ops, Operation(LISTENER, "delete"), Operation(LISTENER, "apply"))
    assert before(ops, Operation(LISTENER, "apply"), Operation(RULE, "apply"))
    assert before(ops, Operation(RULE, "delete"), Operation(RULE, "apply"))
    assert before(ops, Operation(RULE, "apply"), Operation(TARGET, "apply"))


def test_create_first_replacement_deletes_old_certificate_after_users_moved():
    recorded = {LISTENER: (LB, CERT)}
    plan = Plan("s", "normal", (
        change(CERT, Action.REPLACE_CREATE_FIRST),
        change(LISTENER, Action.UPDATE, [LB, CERT]),
    ))
    ops = order(build_operations(plan, recorded))
    new, old = Operation(CERT, "apply"), Operation(CERT, "delete-old")
    moved = Operation(LISTENER, "apply")
    assert before(ops, new, moved) and before(ops, moved, old)


def test_removed_certificate_is_deleted_after_listener_switches_away():
    other = Address("ssl_certificate", "other")
    recorded = {LISTENER: (LB, CERT)}
    plan = Plan("s", "normal", (
        change(other, Action.CREATE),
        change(LISTENER, Action.UPDATE, [LB, other]),
        change(CERT, Action.DELETE),
    ))
    ops = order(build_operations(plan, recorded))
    assert before(ops, Operation(LISTENER, "apply"), Operation(CERT, "delete"))


def test_new_listener_on_a_freed_port_waits_for_the_delete():
    old = Address("listener", "old")
    plan = Plan("s", "normal", (
        change(old, Action.DELETE, before={"port": 443, "load_balancer_id": "lb-1"}),
        change(LISTENER, Action.CREATE, [LB], after={"port": 443, "load_balancer_id": "lb-1"}),
    ))
    graph = build_operations(plan, {old: (LB,)})
    assert Operation(old, "delete") in graph.dependencies[Operation(LISTENER, "apply")]


def test_unmanaged_target_under_a_deleted_rule_goes_with_it():
    extra = Address("target", "https", "www.example.com/", "ins-x:80")
    plan = Plan("s", "normal", (
        change(RULE, Action.DELETE),
        change(extra, Action.DELETE, [RULE], reason=Reason.UNMANAGED,
               unmanaged={"instance_id": "ins-x", "port": 80}),
    ))
    graph = build_operations(plan, {RULE: (LISTENER,)})
    assert graph.cascaded == {Operation(extra, "delete")}
    assert Operation(RULE, "delete") in graph.dependencies[Operation(extra, "delete")]


def test_a_copy_deposed_by_an_unfinished_rotation_goes_after_the_new_one():
    # An earlier apply deposed the old upload and failed before recording the new one: the
    # plan uploads again, moves the listener, then deletes the deposed copy (no cycle).
    deposed = ResourceChange(CERT, Action.DELETE, Reason.DEPOSED, before={"id": "old"},
                             deposed="0a1b2c3d", config={})
    plan = Plan("s", "normal", (
        change(CERT, Action.CREATE, [Address("certificate", "server")]),
        deposed,
        change(LISTENER, Action.UPDATE, [LB, CERT]),
    ))
    ops = order(build_operations(plan, {LISTENER: (LB, CERT)}))
    new, moved = Operation(CERT, "apply"), Operation(LISTENER, "apply")
    old = Operation(CERT, "delete", "0a1b2c3d")
    assert before(ops, new, moved) and before(ops, moved, old)
