"""Fixtures: the tencentcloud provider against the in-process emulator (real SDK, real HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtlsform.providers import ProviderContext, open_provider
from mtlsform.providers.base import Provider
from mtlsform.stack.model import ProviderConfig
from tests.providers.certs import Pki, make_pki

EXTRA_INSTANCES = 30  # ins-t01 .. ins-t30, for chunking tests (the demo ones are ins-rs1/2)


@dataclass
class Cloud:
    provider: Provider
    context: ProviderContext

    def calls(self) -> dict[str, int]:
        return dict(self.context.emulator_stats()["calls"])

    def errors(self) -> dict[str, dict[str, int]]:
        return dict(self.context.emulator_stats()["errors"])

    def reset(self) -> None:
        self.context.emulator.reset_stats()


def instance_ids(count: int) -> list[str]:
    return [f"ins-t{n:02d}" for n in range(1, count + 1)]


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """An environment with no real credentials (HOME is empty) and extra CVM instances."""
    home = tmp_path / "home"
    home.mkdir()
    instances = tmp_path / "instances.json"
    instances.write_text(json.dumps([{"InstanceId": i, "InstanceName": i}
                                     for i in instance_ids(EXTRA_INSTANCES)]))
    return {"HOME": str(home), "MTLSFORM_EMULATOR_INSTANCES": str(instances),
            "MTLSFORM_EMULATOR_SEED": "7"}


@contextmanager
def emulated(tmp_path: Path, environ: Mapping[str, str],
             config: ProviderConfig | None = None) -> Iterator[Cloud]:
    with open_provider(config or ProviderConfig(kind="emulator"),
                       emulator_data_dir=tmp_path / "world", environ=environ) as (provider, ctx):
        yield Cloud(provider, ctx)


@pytest.fixture
def cloud(tmp_path: Path, environ: dict[str, str]) -> Iterator[Cloud]:
    with emulated(tmp_path, environ) as opened:
        yield opened
