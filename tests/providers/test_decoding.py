"""An answer is decoded as JSON twice, not three times: once where it is examined
(answers.py) and once where the SDK parses it; the SDK's own error check, which would decode it
again, is told the answer was examined. Counted on a real call through the SDK."""

from __future__ import annotations

import json

import pytest

from tests.providers.conftest import Cloud


def counting_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = json.loads

    def loads(text, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(text, bytes | str) and b'"Response"' in (
                text if isinstance(text, bytes) else text.encode()):
            sizes.append(len(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", loads)
    return sizes


def test_a_success_is_decoded_twice(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud.provider.read_load_balancers(["lb-00000000"])
    decoded = counting_loads(monkeypatch)
    cloud.provider.read_load_balancers(["lb-00000000"])
    assert len(decoded) == 2, decoded
    assert cloud.calls().get("DescribeLoadBalancers") == 2
