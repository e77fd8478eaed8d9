"""The resource graph: order, cycles, the stack's nodes and edges, DOT and Mermaid text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtlsform.addresses import Address
from mtlsform.dag import CycleError, Dag, format_cycle
from mtlsform.resources.graph import resource_graph
from mtlsform.stack import load_stack

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"


def _reduced(stack):
    """The graph people are shown: the stack's reference graph without implied edges."""
    return resource_graph(stack).reduced()


def a(text: str) -> Address:
    return Address.parse(text)


def graph(edges: dict[str, list[str]], extra: tuple[str, ...] = ()) -> Dag:
    nodes = {a(n) for n in edges} | {a(d) for deps in edges.values() for d in deps}
    nodes |= {a(n) for n in extra}
    return Dag(nodes, {a(n): [a(d) for d in deps] for n, deps in edges.items()})


def test_order_puts_dependencies_first_and_breaks_ties_by_address() -> None:
    g = graph({"listener.b": ["load_balancer.web"], "listener.a": ["load_balancer.web"],
               "rule.a[\"x/\"]": ["listener.a"]}, extra=("certificate.z", "certificate.c"))
    assert [str(n) for n in g.topological_order()] == [
        "certificate.c", "certificate.z", "load_balancer.web", "listener.a", "listener.b",
        'rule.a["x/"]']
    assert [str(n) for n in g.reverse_order()] == [
        "certificate.c", "certificate.z", "listener.b", 'rule.a["x/"]', "listener.a",
        "load_balancer.web"]


def test_order_does_not_depend_on_insertion_order() -> None:
    edges = {"listener.b": ["load_balancer.web"], "listener.a": ["load_balancer.web"]}
    reversed_edges = dict(reversed(list(edges.items())))
    assert graph(edges).topological_order() == graph(reversed_edges).topological_order()


def test_dependencies_and_dependents_are_sorted() -> None:
    g = graph({"listener.a": ["ssl_certificate.s", "load_balancer.web", "ssl_certificate.c"]})
    assert [str(d) for d in g.dependencies(a("listener.a"))] == [
        "ssl_certificate.c", "ssl_certificate.s", "load_balancer.web"]
    assert g.dependents(a("load_balancer.web")) == (a("listener.a"),)
    assert len(g) == 4 and a("listener.a") in g
    assert str(g.nodes[0]) == "ssl_certificate.c"


def test_cycles_are_named_from_their_smallest_address() -> None:
    g = graph({"certificate.b": ["certificate.c"], "certificate.c": ["certificate.a"],
               "certificate.a": ["certificate.b"], "certificate.self": ["certificate.self"],
               "certificate.ok": ["certificate.a"]})
    cycles = g.find_cycles()
    assert [format_cycle(c) for c in cycles] == [
        "certificate.a -> certificate.b -> certificate.c -> certificate.a",
        "certificate.self -> certificate.self"]
    with pytest.raises(CycleError) as info:
        g.topological_order()
    assert info.value.cycles == cycles
    assert str(info.value).startswith("dependency cycle: certificate.a -> certificate.b")


def test_acyclic_graph_has_no_cycles() -> None:
    assert graph({"listener.a": ["load_balancer.web"]}).find_cycles() == []


def test_edges_must_name_nodes() -> None:
    with pytest.raises(ValueError, match="not a node"):
        Dag([a("listener.a")], {a("listener.a"): [a("load_balancer.web")]})


def _stack(name: str):
    stack, diagnostics = load_stack(REPO / "stacks" / f"{name}.yaml", environ={})
    assert stack is not None, diagnostics
    return stack


def test_example_graph_has_the_addresses_and_edges_of_the_design() -> None:
    g = _reduced(_stack("example"))
    assert [str(n) for n in g.nodes] == [
        "certificate.ca", "certificate.client", "certificate.server",
        "ssl_certificate.ca", "ssl_certificate.server", "load_balancer.web", "listener.https",
        'rule.https["www.example.com/"]', 'target.https["www.example.com/"].rs-1',
        'target.https["www.example.com/"].rs-2']
    assert sorted((str(x), str(y)) for x, y in g.edges()) == sorted([
        ("certificate.client", "certificate.ca"), ("certificate.server", "certificate.ca"),
        ("ssl_certificate.ca", "certificate.ca"), ("ssl_certificate.server", "certificate.server"),
        ("listener.https", "load_balancer.web"), ("listener.https", "ssl_certificate.ca"),
        ("listener.https", "ssl_certificate.server"),
        ('rule.https["www.example.com/"]', "listener.https"),
        ('target.https["www.example.com/"].rs-1', 'rule.https["www.example.com/"]'),
        ('target.https["www.example.com/"].rs-2', 'rule.https["www.example.com/"]')])


def test_sni_rules_depend_on_their_own_certificates() -> None:
    g = _reduced(_stack("sni"))
    assert [str(d) for d in g.dependencies(a("listener.https"))] == ["load_balancer.edge"]
    assert [str(d) for d in g.dependencies(a('rule.https["api.example.com/"]'))] == [
        "ssl_certificate.api", "ssl_certificate.api-clients-ca", "listener.https"]
    assert [str(d) for d in g.dependencies(a('rule.https["www.example.com/"]'))] == [
        "ssl_certificate.www", "listener.https"]


def test_addresses_do_not_change_when_lists_are_reordered(tmp_path: Path) -> None:
    text = (REPO / "stacks" / "sni.yaml").read_text()
    rules = text.split("    rules:\n")[1].split("\noutputs:")[0]
    www, api = rules.split("      - domain: api.example.com")
    swapped = text.replace(rules, "      - domain: api.example.com" + api.rstrip("\n")
                           + "\n" + www.rstrip("\n") + "\n")
    swapped = swapped.replace("[api-1, {backend: api-2, weight: 20}]",
                              "[{backend: api-2, weight: 20}, api-1]")
    assert swapped != text
    path = tmp_path / "sni.yaml"
    path.write_text(swapped)
    stack, diagnostics = load_stack(path, environ={})
    assert stack is not None, diagnostics
    assert stack.listeners["https"].rules[0].domain == "api.example.com"
    original = _reduced(_stack("sni"))
    reordered = _reduced(stack)
    assert reordered.nodes == original.nodes and reordered.edges() == original.edges()
    assert reordered.topological_order() == original.topological_order()


@pytest.mark.parametrize("form", ["dot", "mermaid"])
def test_example_graph_text_matches_the_golden_file(form: str) -> None:
    stack = _stack("example")
    g = _reduced(stack)
    text = g.to_dot(stack.name) if form == "dot" else g.to_mermaid()
    golden = GOLDEN / f"example.{'dot' if form == 'dot' else 'mmd'}"
    if os.environ.get("MTLSFORM_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert text == golden.read_text()


def test_labels_are_escaped() -> None:
    g = Dag([Address("rule", "l", 'a"b#c/')])
    assert 'n0["rule.l[#quot;a\\#quot;b#35;c/#quot;]"]' in g.to_mermaid()
    assert '"rule.l[\\"a\\\\\\"b#c/\\"]";' in g.to_dot()
