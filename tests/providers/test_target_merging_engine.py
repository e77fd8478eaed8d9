"""Through the engine: the backends of a rule, each a resource of its own, are written in a few
shared calls instead of one call and one task wait each."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from mtlsform.sensitive import Sensitive
from mtlsform.session import open_session
from mtlsform.stack import load_stack

BACKENDS = 10


def wide_stack(weights: Mapping[int, int] | None = None, backends: int = BACKENDS) -> str:
    """One CLB, one mutual-TLS listener, one rule over `backends` IP backends (ecdsa keys)."""
    weights = weights or {}
    lines = [
        "version: 1",
        "stack: wide",
        "provider: {kind: emulator, region: ap-guangzhou}",
        "certificates:",
        "  ca: {type: ca, key: ecdsa-p256, subject: {common_name: Wide Test CA}}",
        "  server: {type: server, key: ecdsa-p256, issuer: ca,",
        "           subject: {common_name: www.example.com}, dns_names: [www.example.com]}",
        "load_balancers:",
        "  web: {name: wide-clb}",
        "backends:",
    ]
    lines += [f"  b{n}: {{ip: 10.0.0.{n + 1}, port: 80, weight: {weights.get(n, 10)}}}"
              for n in range(BACKENDS)]
    lines += [
        "listeners:",
        "  https:",
        "    load_balancer: web",
        "    port: 443",
        "    tls: {mode: mutual, certificate: server, client_ca: ca}",
        "    rules:",
        "      - domain: www.example.com",
        "        backends: [" + ", ".join(f"b{n}" for n in range(backends)) + "]",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def stack_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("MTLSFORM_", "TENCENTCLOUD_")):
            monkeypatch.delenv(name)
    return tmp_path / "wide.yaml"


def apply_counting(path: Path, text: str) -> tuple[dict[str, int], dict[str, int]]:
    """Applies the stack; the write calls it made, and the weights bound afterwards."""
    path.write_text(text)
    stack, diagnostics = load_stack(path, environ=os.environ)
    assert stack is not None, [d.format() for d in diagnostics]
    with open_session(stack, operation="apply") as session:
        plan = session.plan()
        session.provider_context.emulator.reset_stats()
        result, state = session.apply(plan, p12_password=Sensitive("unused"))
        assert result.ok, result.failed
        calls = session.provider_context.emulator_stats()["calls"]
        lb = state.get("load_balancer.web").attributes["id"]
        listeners = session.provider.read_listeners(lb) or {}
        again = session.plan()
    assert not again.has_changes  # what was applied is what the cloud holds
    weights = {t.ip: t.weight for info in listeners.values() for rule in info.rules
               for t in rule.targets}
    return {a: n for a, n in calls.items() if not a.startswith("Describe")}, weights


def test_a_rule_of_ten_backends_is_written_in_a_few_calls(stack_file: Path) -> None:
    writes, weights = apply_counting(stack_file, wide_stack())
    # the ten start as one batch and the call waits for all ten (seats, not a time window)
    assert writes["RegisterTargets"] == 1  # not 10
    assert weights == {f"10.0.0.{n + 1}": 10 for n in range(BACKENDS)}

    changed = {n: 20 + n for n in range(BACKENDS)}
    writes, weights = apply_counting(stack_file, wide_stack(changed))
    assert writes == {"ModifyTargetWeight": 1}
    assert weights == {f"10.0.0.{n + 1}": 20 + n for n in range(BACKENDS)}

    changed[4] = 99
    writes, weights = apply_counting(stack_file, wide_stack(changed))
    assert writes == {"ModifyTargetWeight": 1}
    assert weights["10.0.0.5"] == 99

    writes, weights = apply_counting(stack_file, wide_stack(changed, backends=1))
    assert writes == {"DeregisterTargets": 1}
    assert weights == {"10.0.0.1": 20}
