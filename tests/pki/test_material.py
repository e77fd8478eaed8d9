"""CertificateMaterial in state (round trip, integrity) and the renewal decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mtlsform.errors import CertificateError
from mtlsform.pki.export import material_from_state_attributes
from mtlsform.pki.generate import generate_certificate
from mtlsform.pki.material import CertificateMaterial
from mtlsform.pki.renewal import needs_renewal, renewal_reason
from mtlsform.sensitive import Sensitive
from tests.pki.builders import CertSet, server_spec

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_state_round_trip(key_set: CertSet) -> None:
    for material in (key_set.ca, key_set.server, key_set.client):
        state = material.to_state()
        assert isinstance(state["private_key_pem"], Sensitive)
        # Everything but the key is plain JSON; the state layer seals the key.
        plain = {k: v for k, v in state.items() if k != "private_key_pem"}
        assert json.loads(json.dumps(plain)) == plain
        assert CertificateMaterial.from_state(state) == material
        assert material_from_state_attributes(state) == material
        # As read back from a file: the key as a plain string, other keys present too.
        reread = {**json.loads(json.dumps(plain)), "export": None,
                  "private_key_pem": state["private_key_pem"].reveal()}
        assert CertificateMaterial.from_state(reread) == material


def test_state_attributes(p256: CertSet) -> None:
    state = p256.server.to_state()
    assert sorted(state) == sorted([
        "certificate_pem", "chain_pem", "private_key_pem", "fingerprint", "serial",
        "subject_cn", "issuer_cn", "not_before", "not_after", "key_type"])
    assert state["fingerprint"] == p256.server.fingerprint_sha256
    assert len(state["fingerprint"]) == 64 and state["fingerprint"] == state["fingerprint"].lower()
    assert state["subject_cn"] == "www.example.com" and state["issuer_cn"] == "Example Root CA"
    assert state["key_type"] == "ecdsa-p256"
    assert state["not_after"].endswith("Z")
    assert int(state["serial"], 16) == p256.server.certificate().serial_number


def test_facts(p256: CertSet) -> None:
    m = p256.server
    assert (m.is_ca, m.dns_names, m.ip_addresses, m.ekus) == (
        False, ("www.example.com", "localhost"), ("127.0.0.1",), ("serverAuth",))
    assert m.not_before.tzinfo is not None and m.not_after.utcoffset() == timedelta(0)
    assert p256.ca.is_ca and p256.ca.ekus == ()


def test_from_state_refuses_a_tampered_or_damaged_state(p256: CertSet, other_ca_set: CertSet,
                                                        ) -> None:
    state = p256.server.to_state()
    with pytest.raises(CertificateError) as caught:
        CertificateMaterial.from_state({**state, "certificate_pem":
                                        other_ca_set.server.certificate_pem})
    assert str(caught.value) == (
        "the state's certificate (CN 'www.example.com') does not match its recorded "
        f"fingerprint {p256.server.fingerprint_sha256}")
    with pytest.raises(CertificateError, match="the state holds unreadable certificate material"):
        CertificateMaterial.from_state({"chain_pem": ""})
    with pytest.raises(CertificateError, match="the state holds unreadable certificate material"):
        CertificateMaterial.from_state({"certificate_pem": "garbage"})


def test_repr_and_str_never_show_the_key(key_set: CertSet) -> None:
    for material in (key_set.ca, key_set.server, key_set.client):
        assert material.private_key_pem is not None
        body = material.private_key_pem.reveal().splitlines()[1]
        for text in (repr(material), str(material), repr(material.to_state()),
                     str(material.to_state()), f"{material.private_key_pem}"):
            assert body not in text and "PRIVATE KEY" not in text
        with pytest.raises(TypeError):
            json.dumps(material.to_state())


def test_renewal(p256: CertSet) -> None:
    material = generate_certificate(server_spec(validity_days=90), p256.ca, now=NOW)
    assert not needs_renewal(material, 30, NOW)
    assert renewal_reason(material, 30, NOW + timedelta(days=59)) is None
    assert renewal_reason(material, 30, NOW + timedelta(days=60)) == (
        "expires on 2026-05-30T12:00:00Z (30 days left, renew_before_days 30)")
    assert needs_renewal(material, 30, NOW + timedelta(days=60))
    assert renewal_reason(material, 30, NOW + timedelta(days=90)) == \
        "expired on 2026-05-30T12:00:00Z (renew_before_days 30)"
    assert renewal_reason(material, 30, NOW - timedelta(days=1)) == \
        "not valid before 2026-03-01T11:55:00Z"
    assert not needs_renewal(material, 0, NOW + timedelta(days=89))
