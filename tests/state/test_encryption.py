"""Sensitive values at rest: clear but tagged without a passphrase, sealed with one."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state import LocalStateStore, OutputValue, ResourceState, backup_path, read_state
from tests.state.samples import key_body, sample_state

PASSPHRASE = Sensitive("correct horse battery staple")
CA = "certificate.ca"


def secret_traces(key_pem: str) -> list[bytes]:
    """Anything whose presence in a file would leak the key or the passphrase."""
    body = "".join(key_body(key_pem))
    as_json = json.dumps(key_pem)[1:-1]  # how a clear file would hold it
    return [key_pem.encode(), as_json.encode(), body.encode(),
            *(line.encode() for line in key_body(key_pem)),
            PASSPHRASE.reveal().encode(), base64.b64encode(PASSPHRASE.reveal().encode())]


def write_encrypted(state_path, key_pem):
    with LocalStateStore(state_path, passphrase=PASSPHRASE) as store:
        return store.write(sample_state(key_pem))


def test_without_passphrase_secrets_are_clear_but_tagged(state_path, key_pem):
    with LocalStateStore(state_path) as store:
        store.write(sample_state(key_pem))
    doc = json.loads(state_path.read_bytes())
    assert doc["encryption"] is None
    ca = doc["resources"][0]
    assert ca["attributes"]["private_key_pem"] == key_pem
    assert ca["sensitive_attributes"] == [["private_key_pem"]]
    back = read_state(state_path)
    key = back.get(CA).attributes["private_key_pem"]
    assert isinstance(key, Sensitive) and key.reveal() == key_pem
    assert "PRIVATE" not in repr(back)


def test_with_passphrase_no_secret_reaches_the_disk(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    data = state_path.read_bytes()
    for trace in secret_traces(key_pem):
        assert trace not in data
    assert stat.S_IMODE(state_path.stat().st_mode) == 0o600
    doc = json.loads(data)
    assert doc["encryption"]["method"] == "aes-256-gcm"
    assert doc["encryption"]["kdf"]["name"] == "scrypt"
    assert set(doc["resources"][0]["attributes"]["private_key_pem"]) == {"ciphertext", "nonce"}
    assert set(doc["outputs"]["client_key"]["value"]) == {"ciphertext", "nonce"}
    assert doc["outputs"]["vip"]["value"] == "10.0.0.1"  # only secrets are sealed
    back = read_state(state_path, PASSPHRASE)
    assert back.get(CA).attributes["private_key_pem"].reveal() == key_pem
    assert back.outputs["client_key"].value.reveal() == key_pem
    assert back.same_content(sample_state(key_pem))


def test_without_the_passphrase_everything_else_reads_and_secrets_refuse(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    state = read_state(state_path)
    assert state.get(CA).attributes["common_name"] == "Example Root CA"
    assert state.outputs["vip"].value == "10.0.0.1"
    sealed = state.get(CA).attributes["private_key_pem"]
    assert str(sealed) == "(sensitive)"
    with pytest.raises(StateError) as info:
        sealed.reveal()
    assert info.value.message.startswith(
        "the state holds private keys encrypted with MTLSFORM_STATE_PASSPHRASE")
    assert "certificate.ca private_key_pem" in info.value.message
    with pytest.raises(StateError, match="MTLSFORM_STATE_PASSPHRASE"):
        state.outputs["client_key"].value.reveal()


def test_writing_back_without_the_passphrase_keeps_the_ciphertext(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    before = json.loads(state_path.read_bytes())
    with LocalStateStore(state_path) as store:
        assert store.encrypted and not store.can_store_secrets
        state = store.read()
        state = state.with_resource(ResourceState(CA, {**state.get(CA).attributes,
                                                       "common_name": "Renamed CA"}))
        assert store.write(state).serial == 2
    after = json.loads(state_path.read_bytes())
    assert after["encryption"] == before["encryption"]
    assert after["resources"][0]["attributes"]["private_key_pem"] == \
        before["resources"][0]["attributes"]["private_key_pem"]
    assert after["outputs"]["client_key"] == before["outputs"]["client_key"]
    back = read_state(state_path, PASSPHRASE)
    assert back.get(CA).attributes["common_name"] == "Renamed CA"
    assert back.get(CA).attributes["private_key_pem"].reveal() == key_pem


def test_a_new_secret_without_the_passphrase_is_refused(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    before = state_path.read_bytes()
    with LocalStateStore(state_path) as store:
        state = store.read().with_resource(
            ResourceState("certificate.client", {"private_key_pem": Sensitive(key_pem)}))
        with pytest.raises(StateError) as info:
            store.write(state)
    assert "is encrypted with MTLSFORM_STATE_PASSPHRASE; set it to store the new secret " \
           "certificate.client private_key_pem" in info.value.message
    assert state_path.read_bytes() == before


def test_unchanged_secrets_keep_their_ciphertext_with_the_passphrase(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    before = state_path.read_bytes()
    with LocalStateStore(state_path, passphrase=PASSPHRASE) as store:
        state = store.read()
        store.write(state.with_outputs({**state.outputs, "extra": "x"}))
    after = json.loads(state_path.read_bytes())
    old = json.loads(before)
    assert after["resources"][0]["attributes"] == old["resources"][0]["attributes"]
    assert after["serial"] == old["serial"] + 1


def test_wrong_passphrase_is_named(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    with pytest.raises(StateError) as info:
        read_state(state_path, Sensitive("wrong"))
    assert info.value.message.startswith("wrong MTLSFORM_STATE_PASSPHRASE")
    with pytest.raises(StateError, match="wrong MTLSFORM_STATE_PASSPHRASE"), \
            LocalStateStore(state_path, passphrase=Sensitive("wrong")) as store:
        store.read()
    with pytest.raises(StateError, match="set but empty"):
        read_state(state_path, Sensitive(""))


def test_tampered_ciphertext_is_detected(state_path, key_pem):
    write_encrypted(state_path, key_pem)
    doc = json.loads(state_path.read_bytes())
    sealed = doc["resources"][0]["attributes"]["private_key_pem"]
    raw = bytearray(base64.b64decode(sealed["ciphertext"]))
    raw[5] ^= 1
    sealed["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    state_path.write_text(json.dumps(doc))
    with pytest.raises(StateError, match=r"encrypted value of certificate\.ca private_key_pem "
                                         r"fails its integrity check"):
        read_state(state_path, PASSPHRASE)


def test_values_cannot_be_swapped_between_places(state_path, key_pem):
    state = sample_state(key_pem).with_resource(
        ResourceState("certificate.client", {"private_key_pem": Sensitive("client key")}))
    with LocalStateStore(state_path, passphrase=PASSPHRASE) as store:
        store.write(state)
    doc = json.loads(state_path.read_bytes())
    ca, client = doc["resources"][0]["attributes"], doc["resources"][1]["attributes"]
    ca["private_key_pem"], client["private_key_pem"] = \
        client["private_key_pem"], ca["private_key_pem"]
    state_path.write_text(json.dumps(doc))
    with pytest.raises(StateError, match="integrity check: the file was modified or values "
                                         "were moved"):
        read_state(state_path, PASSPHRASE)


def test_a_clear_state_is_encrypted_at_the_next_write_with_a_passphrase(state_path, key_pem):
    with LocalStateStore(state_path) as store:
        clear = store.write(sample_state(key_pem))
    assert json.dumps(key_pem)[1:-1].encode() in state_path.read_bytes()
    with LocalStateStore(state_path, passphrase=PASSPHRASE) as store:
        assert store.encrypted
        again = store.write(store.read())  # no content change: the serial stays
    assert again.serial == clear.serial
    for path in (state_path, backup_path(state_path)):
        data = path.read_bytes()
        assert json.loads(data)["encryption"] is not None
        for trace in secret_traces(key_pem):
            assert trace not in data, path
    assert read_state(backup_path(state_path), PASSPHRASE).same_content(clear)
    # and it stays encrypted, with no further write, on the next run
    with LocalStateStore(state_path, passphrase=PASSPHRASE) as store:
        data = state_path.read_bytes()
        store.write(store.read())
        assert state_path.read_bytes() == data


def test_sensitive_outputs_follow_the_same_rules(state_path):
    state = sample_state().with_outputs({"token": OutputValue("s3cr3t-token", sensitive=True)})
    with LocalStateStore(state_path, passphrase=PASSPHRASE) as store:
        store.write(state)
    assert b"s3cr3t-token" not in state_path.read_bytes()
    assert read_state(state_path, PASSPHRASE).outputs["token"].value.reveal() == "s3cr3t-token"
    with pytest.raises(StateError):
        read_state(state_path).outputs["token"].value.reveal()
