"""Fixtures for state tests: a state path next to a stack file, and a real private key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlsform.state import default_state_path


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return default_state_path(tmp_path / "example.yaml", "example")


@pytest.fixture(scope="session")
def key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
