"""Fixtures for the pki tests: certificate sets generated once per session.

RSA keys are slow to generate (RSA-4096 up to a second), so every key type's walk-through set
(CA, server, client) is generated once per session and shared.
"""

from __future__ import annotations

import pytest

from mtlsform.pki.keys import KEY_TYPES
from tests.pki.builders import CertSet, make_set


@pytest.fixture(scope="session", params=KEY_TYPES)
def key_set(request: pytest.FixtureRequest) -> CertSet:
    """One set per key type, generated once per session."""
    return make_set(request.param)


@pytest.fixture(scope="session")
def p256() -> CertSet:
    return make_set("ecdsa-p256")


@pytest.fixture(scope="session")
def other_ca_set() -> CertSet:
    """A set from a different CA (same names): its client must not be accepted by `p256`."""
    return make_set("ecdsa-p256")
