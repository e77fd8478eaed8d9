"""Sample states and child-process helpers shared by the state tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from mtlsform.sensitive import Sensitive
from mtlsform.state import OutputValue, PendingOperation, ResourceState, State

LINEAGE = "5f0c2a8e-3d1b-4c6f-9e7a-1b2c3d4e5f60"


def key_body(pem: str) -> list[str]:
    """The base64 lines of a PEM (what must never show up in an encrypted file)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def sample_state(key_pem: str = "KEY", lineage: str = LINEAGE) -> State:
    """A small state touching every feature of the format."""
    state = State(stack="example", lineage=lineage)
    state = state.with_resource(ResourceState(
        "certificate.ca",
        {"common_name": "Example Root CA", "certificate_pem": "-----BEGIN CERTIFICATE-----",
         "private_key_pem": Sensitive(key_pem), "not_after": "2035-01-01T00:00:00Z"}))
    state = state.with_resource(ResourceState(
        "ssl_certificate.server", {"id": "cert-new", "name": "server"},
        ["certificate.ca"]))
    state = state.with_resource(ResourceState(
        "ssl_certificate.server", {"id": "cert-old", "name": "server"},
        ["certificate.ca"], deposed="0a1b2c3d"))
    state = state.with_resource(ResourceState(
        "load_balancer.web", {"id": "lb-12345678", "vip": "10.0.0.1", "tags": []}))
    state = state.with_resource(ResourceState(
        "listener.https", {"id": "lbl-1", "port": 443, "protocol": "HTTPS", "sni": False,
                           "tls": {"mode": "mutual", "ca_id": "cert-ca"}},
        ["load_balancer.web", "ssl_certificate.server"]))
    state = state.with_resource(ResourceState(
        'rule.https["www.example.com/"]',
        {"domain": "www.example.com", "url": "/", "health_check": {"http_codes": [2, 3]},
         "weight": 1.5, "note": "héllo ✓"},
        ["listener.https"]))
    state = state.with_outputs({"vip": "10.0.0.1",
                                "client_key": OutputValue(key_pem, sensitive=True)})
    return state.with_pending(PendingOperation(
        "0123456789abcdef0123456789abcdef", 'target.https["www.example.com/"].rs-1',
        "create", "2025-01-02T03:04:05.678Z", {"instance": "ins-rs1", "port": 80}))


CHILD_PRELUDE = "import os, signal, sys\nfrom pathlib import Path\n"


def start_child(code: str, *args: str, stdin: bool = True) -> subprocess.Popen:
    """Runs `code` in a new Python process (the real thing: its own pid, its own locks)."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code), *args],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
