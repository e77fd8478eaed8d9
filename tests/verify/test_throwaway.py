"""The throwaway client certificates: checked with cryptography and with `openssl verify`."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from mtlsform.verification import SigningCa
from mtlsform.verification.throwaway import expired_client, fresh_client, unknown_ca_client


def _openssl_verify(tmp_path: Path, ca_pem: str, leaf_pem: str) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    (tmp_path / "ca.pem").write_text(ca_pem)
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    return subprocess.run(["openssl", "verify", "-purpose", "sslclient", "-x509_strict",
                           "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "leaf.pem")],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def stack_ca(pki) -> SigningCa:
    return SigningCa("ca", pki.ca.certificate_pem, "", pki.ca.private_key_pem)


def test_the_expired_certificate_is_signed_by_the_stacks_ca_and_expired(stack_ca, pki, tmp_path):
    identity = expired_client(stack_ca)
    assert identity is not None
    leaf = x509.load_pem_x509_certificate(identity.certificate_pem.encode())
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(pki.ca.certificate_pem.encode()))
    assert leaf.not_valid_after_utc < datetime.now(UTC)
    result = _openssl_verify(tmp_path, pki.ca.certificate_pem, identity.certificate_pem)
    assert result.returncode != 0
    assert "certificate has expired" in result.stdout + result.stderr


def test_the_fresh_certificate_verifies_for_client_auth(stack_ca, pki, tmp_path):
    identity = fresh_client(stack_ca)
    assert identity is not None
    result = _openssl_verify(tmp_path, pki.ca.certificate_pem, identity.certificate_pem)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unknown_ca_certificate_is_valid_but_not_from_the_stacks_ca(pki, tmp_path):
    identity = unknown_ca_client()
    result = _openssl_verify(tmp_path, pki.ca.certificate_pem, identity.certificate_pem)
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stdout + result.stderr
    assert x509.load_pem_x509_certificate(
        identity.certificate_pem.encode()).not_valid_after_utc > datetime.now(UTC)


def test_nothing_can_be_signed_without_the_cas_key(pki):
    keyless = SigningCa("ca", pki.ca.certificate_pem)
    assert expired_client(keyless) is None
    assert fresh_client(keyless) is None


def test_throwaway_keys_do_not_show(stack_ca):
    identity = expired_client(stack_ca)
    assert identity is not None
    assert "PRIVATE KEY" not in repr(identity)
    assert "PRIVATE KEY" not in str(identity)
