"""Shared helpers for stack tests: write a stack file, load it, format its diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mtlsform.diagnostics import Diagnostic
from mtlsform.stack import load_stack
from mtlsform.stack.model import Stack

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "stacks"

Loader = Callable[..., tuple[Stack | None, list[str]]]


def formatted(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.format() for d in diagnostics]


@pytest.fixture
def load_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Loader:
    """Writes text (or bytes) to s.yaml in a temporary directory and loads it from there."""
    monkeypatch.chdir(tmp_path)

    def load(content: str | bytes, cli_vars: dict[str, str] | None = None,
             environ: dict[str, str] | None = None) -> tuple[Stack | None, list[str]]:
        path = Path("s.yaml")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        stack, diagnostics = load_stack(path, cli_vars, environ)
        return stack, formatted(diagnostics)

    return load


MINIMAL = """\
version: 1
stack: demo
certificates:
  ca: {type: ca, subject: {common_name: Demo CA}, key: ecdsa-p256}
  server: {type: server, issuer: ca, subject: {common_name: www.example.com}, key: ecdsa-p256}
load_balancers:
  web: {name: demo-clb}
backends:
  rs-1: {instance: ins-rs1, port: 80}
  rs-2: {instance: ins-rs2, port: 80}
listeners:
  https:
    load_balancer: web
    port: 443
    tls: {certificate: server, client_ca: ca}
    rules:
      - domain: www.example.com
        backends: [rs-1, rs-2]
"""

# The certificate content checks (test_certificate_contents.py) use the pki test certificates.
from tests.pki.conftest import other_ca_set, p256  # noqa: E402, F401
