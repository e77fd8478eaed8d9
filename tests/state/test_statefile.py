"""The state file format: round trip, deterministic bytes, versions, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state import FORMAT_VERSION, ResourceState, State
from mtlsform.state.statefile import StateEncoder, decode_state
from mtlsform.state.versions import UPGRADES, upgrade_document
from tests.state.samples import LINEAGE, sample_state

GOLDEN = Path(__file__).parent / "golden" / "example.state.json"


def encode(state: State) -> bytes:
    return StateEncoder(source="t.json").encode(state)


def decode(data: bytes | str) -> State:
    raw = data.encode() if isinstance(data, str) else data
    return decode_state(raw, source="t.json").state


def canonical(data: bytes) -> bytes:
    text = json.dumps(json.loads(data), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode()


def test_golden_file():
    # The format is a contract: a change here is a format change (think format_version).
    assert encode(sample_state()).decode() == GOLDEN.read_text(encoding="utf-8")


def test_round_trip_keeps_everything():
    state = sample_state()
    back = decode(encode(state))
    assert back == state
    key = back.get("certificate.ca").attributes["private_key_pem"]
    assert isinstance(key, Sensitive) and key.reveal() == "KEY"
    assert back.outputs["client_key"].value.reveal() == "KEY"
    assert back.pending_operations == state.pending_operations


def test_bytes_are_canonical_json():
    data = encode(sample_state())
    assert data == canonical(data)
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n")
    empty = encode(State("s", LINEAGE))
    assert empty == canonical(empty)


def test_same_content_gives_same_bytes_whatever_the_history():
    a = sample_state()
    b = State("example", LINEAGE, resources=tuple(reversed(a.resources)),
              outputs=dict(reversed(list(a.outputs.items()))),
              pending_operations=a.pending_operations)
    assert encode(a) == encode(b)


def test_encoder_reuses_unchanged_resources_and_stays_canonical():
    encoder = StateEncoder(source="t.json")
    state = sample_state()
    first = encoder.encode(state)
    changed = state.with_resource(ResourceState("load_balancer.web", {"id": "lb-2"}))
    second = encoder.encode(changed)
    assert second == canonical(second) == encode(changed)
    assert first != second
    assert encoder.encode(state) == first


def test_a_plain_attribute_shaped_like_a_secret_stays_plain():
    lookalikes = {"sensitive": "x", "a": {"ciphertext": "AAAA", "nonce": "AAAA"},
                  "value": {"sensitive": True, "value": "v"}}
    state = State("s", LINEAGE).with_resource(ResourceState("load_balancer.web", lookalikes))
    back = decode(encode(state))
    assert back.get("load_balancer.web").attributes == lookalikes
    assert back == state


def test_sensitive_values_of_any_json_type_and_depth():
    attrs = {"list": [1, Sensitive({"k": [1, 2]})], "n": Sensitive(7), "none": Sensitive(None)}
    state = State("s", LINEAGE).with_resource(ResourceState("certificate.c", attrs))
    doc = json.loads(encode(state))
    assert doc["resources"][0]["sensitive_attributes"] == [["list", 1], ["n"], ["none"]]
    assert decode(encode(state)) == state


def test_newer_format_is_refused_by_name():
    doc = json.loads(encode(sample_state()))
    doc["format_version"] = 7
    with pytest.raises(StateError) as info:
        decode(json.dumps(doc))
    assert info.value.message == (
        "state file t.json was written by a newer mtlsform (mtlsform 0.1.0, format 7); "
        "this is mtlsform 0.1.0 which reads format 2 — upgrade mtlsform")


def test_upgrade_chain_runs_each_step_in_order():
    calls = []

    def step(n):
        def up(doc):
            calls.append(n)
            return {**doc, "format_version": n + 1, f"step{n}": True}
        return up

    doc = upgrade_document({"format_version": 1}, source="t", current=4,
                           steps={1: step(1), 2: step(2), 3: step(3)})
    assert calls == [1, 2, 3]
    assert doc == {"format_version": 4, "step1": True, "step2": True, "step3": True}
    assert upgrade_document({"format_version": 4}, source="t", current=4, steps={}) == {
        "format_version": 4}


def test_older_format_is_upgraded_through_a_registered_step(monkeypatch):
    # A made-up format 0 that called the stack `stack_name` and had no pending operations.
    def zero_to_one(doc):
        doc["stack"] = doc.pop("stack_name")
        doc["pending_operations"] = []
        doc["format_version"] = 1
        return doc

    monkeypatch.setitem(UPGRADES, 0, zero_to_one)
    doc = json.loads(encode(sample_state()))
    doc["format_version"] = 0
    doc["stack_name"] = doc.pop("stack")
    del doc["pending_operations"]
    state = decode(json.dumps(doc))
    assert state.stack == "example"
    assert state.resources == sample_state().resources


def test_older_format_without_an_upgrade_is_refused():
    doc = json.loads(encode(sample_state()))
    doc["format_version"] = 0
    with pytest.raises(StateError, match=r"has format 0, which mtlsform 0\.1\.0 cannot upgrade"):
        decode(json.dumps(doc))
    assert FORMAT_VERSION == 2


def _sample_doc() -> dict:
    return json.loads(encode(sample_state()))


def _corrupt(change) -> str:
    doc = _sample_doc()
    change(doc)
    return json.dumps(doc)


CORRUPT = [
    ("{not json", "is not valid JSON: line 1 column 2: Expecting property name"),
    ("", "is not valid JSON: line 1 column 1: Expecting value"),
    ('["a list"]', "top level: expected an object, found a list"),
    ('{"serial": 1}', "has no valid format_version (found None)"),
    (_corrupt(lambda d: d.pop("lineage")), "top level: missing key 'lineage'"),
    (_corrupt(lambda d: d.update(extra=1)), "top level: unknown key 'extra'"),
    (_corrupt(lambda d: d.update(serial="3")), "serial: expected an integer, found a string"),
    (_corrupt(lambda d: d.update(serial=-1)), "serial: must not be negative"),
    (_corrupt(lambda d: d.update(resources={})), "resources: expected a list, found an object"),
    (_corrupt(lambda d: d["resources"][0].update(address="bogus")),
     "resources[0].address: 'bogus' is not a resource address"),
    (_corrupt(lambda d: d["resources"][0].update(type="listener")),
     "resources[0] (certificate.ca).type: 'listener' does not match the address"),
    (_corrupt(lambda d: d["resources"][0].pop("attributes")),
     "resources[0]: missing key 'attributes'"),
    (_corrupt(lambda d: d["resources"][0].update(sensitive_attributes=[["nope"]])),
     "resources[0] (certificate.ca).sensitive_attributes[0]: ['nope'] does not lead to an "
     "attribute"),
    (_corrupt(lambda d: d["resources"][0].update(sensitive_attributes=["private_key_pem"])),
     "sensitive_attributes[0]: expected a non-empty list of keys and indexes"),
    (_corrupt(lambda d: d["resources"][2].update(deposed="zz")),
     "deposed key 'zz' is not 8 hex digits"),
    (_corrupt(lambda d: d["resources"].append(d["resources"][0])),
     "resources[6] (certificate.ca): this object appears twice"),
    (_corrupt(lambda d: d["resources"][4].update(dependencies=[5])),
     "resources[4] (ssl_certificate.server).dependencies[0]: expected a string, found a number"),
    (_corrupt(lambda d: d["outputs"]["vip"].pop("sensitive")),
     "outputs.vip: missing key 'sensitive'"),
    (_corrupt(lambda d: d["pending_operations"][0].update(address="x")),
     "pending_operations[0].address: 'x' is not a resource address"),
    (_corrupt(lambda d: d.update(encryption={"method": "rot13"})),
     "encryption: expected method 'aes-256-gcm' (found 'rot13')"),
]


@pytest.mark.parametrize(("content", "message"), CORRUPT,
                         ids=[m.split(":")[0][:40] for _, m in CORRUPT])
def test_corrupt_files_get_one_clear_message(content, message):
    with pytest.raises(StateError) as info:
        decode(content)
    assert info.value.message.startswith("state file t.json")
    assert message in info.value.message


def test_non_utf8_file():
    with pytest.raises(StateError, match="is not UTF-8 text"):
        decode(b"\xff\xfe{")


def test_a_format_1_file_upgrades_to_the_same_state():
    # The golden file as format 1 wrote it: every resource had a status, one of them "tainted".
    old = GOLDEN.with_name("example.format-1.state.json").read_bytes()
    assert json.loads(old)["format_version"] == 1
    assert decode(old) == sample_state()
