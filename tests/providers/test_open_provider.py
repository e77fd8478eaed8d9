"""open_provider: both kinds, credentials and region errors, endpoints, the emulator's world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, EmulatorConfig
from mtlsform.errors import MtlsformError, ProviderError
from mtlsform.providers import open_provider
from mtlsform.providers.base import LoadBalancerSpec
from mtlsform.stack.model import ProviderConfig
from tests.providers.conftest import emulated


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator started on its own, as `mtlsform emulator serve` would run it."""
    with Emulator(EmulatorConfig(data_dir=tmp_path / "standalone", task_delay=0.01)) as emu:
        yield emu


def cloud_config(endpoint: str | None = None, region: str | None = "ap-guangzhou"):
    return ProviderConfig(kind="tencentcloud", region=region, endpoint=endpoint)


def test_emulator_kind_context(tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, environ) as cloud:
        ctx = cloud.context
        assert (ctx.kind, ctx.region) == ("emulator", "ap-guangzhou")
        assert ctx.endpoint.startswith("http://127.0.0.1:")
        assert ctx.emulator_data_dir == tmp_path / "world"
        assert ctx.describe() == f"emulator at {ctx.endpoint} (ap-guangzhou)"
        assert DEFAULT_SECRET_KEY not in repr(ctx)
        assert ctx.emulator_stats()["calls"] == {}


def test_emulator_world_survives_between_runs(tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, environ) as cloud:
        lb = cloud.provider.create_load_balancer(LoadBalancerSpec(name="kept"))
    with emulated(tmp_path, environ) as cloud:
        assert cloud.provider.read_load_balancers([lb.id]) == {lb.id: lb}


def test_emulator_ignores_real_credentials(tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, {**environ, "TENCENTCLOUD_SECRET_ID": "AKIDreal",
                             "TENCENTCLOUD_SECRET_KEY": "real-key-never-sent"}) as cloud:
        assert cloud.provider.read_load_balancers(["lb-00000000"]) == {}
        assert cloud.context.credentials.secret_id == DEFAULT_SECRET_ID


def test_emulator_kind_refuses_an_endpoint(tmp_path: Path, environ: dict[str, str]) -> None:
    with pytest.raises(MtlsformError) as caught:  # noqa: SIM117 - the error comes on entry
        with open_provider(ProviderConfig(kind="emulator", endpoint="http://127.0.0.1:1"),
                           emulator_data_dir=tmp_path, environ=environ):
            pass
    assert "endpoint" in caught.value.message


def test_emulator_region_from_environment(tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, {**environ, "TENCENTCLOUD_REGION": "ap-shanghai"}) as cloud:
        assert cloud.context.region == "ap-shanghai"


def test_cloud_kind_without_credentials(tmp_path: Path, environ: dict[str, str]) -> None:
    if Path("/etc/tencentcloud/credentials").exists():
        pytest.skip("this machine has a system-wide credentials file")
    with pytest.raises(MtlsformError) as caught:  # noqa: SIM117
        with open_provider(cloud_config(), emulator_data_dir=None, environ=environ):
            pass
    text = f"{caught.value.message} {caught.value.hint}"
    assert "TENCENTCLOUD_SECRET_ID" in text and "TENCENTCLOUD_SECRET_KEY" in text


def test_cloud_kind_without_region(environ: dict[str, str]) -> None:
    env = {**environ, "TENCENTCLOUD_SECRET_ID": "AKIDx", "TENCENTCLOUD_SECRET_KEY": "k" * 20}
    with pytest.raises(MtlsformError) as caught:  # noqa: SIM117
        with open_provider(cloud_config(region=None), emulator_data_dir=None, environ=env):
            pass
    assert "TENCENTCLOUD_REGION" in (caught.value.hint or "")


def test_cloud_kind_against_an_http_endpoint(standalone: Emulator,
                                             environ: dict[str, str]) -> None:
    env = {**environ, "TENCENTCLOUD_SECRET_ID": DEFAULT_SECRET_ID,
           "TENCENTCLOUD_SECRET_KEY": DEFAULT_SECRET_KEY}
    with open_provider(cloud_config(f"http://{standalone.endpoint}"), emulator_data_dir=None,
                       environ=env) as (provider, ctx):
        assert ctx.kind == "tencentcloud" and ctx.endpoint == f"http://{standalone.endpoint}"
        lb = provider.create_load_balancer(LoadBalancerSpec(name="via-endpoint"))
        assert lb.status == 1
    assert standalone.stats()["calls"]["CreateLoadBalancer"] == 1


def test_credentials_from_the_profile_file(standalone: Emulator, tmp_path: Path,
                                           environ: dict[str, str]) -> None:
    profile = Path(environ["HOME"]) / ".tencentcloud" / "credentials"
    profile.parent.mkdir()
    profile.write_text(f"[default]\nsecret_id = {DEFAULT_SECRET_ID}\n"
                       f"secret_key = {DEFAULT_SECRET_KEY}\n")
    with open_provider(cloud_config(f"http://{standalone.endpoint}"), emulator_data_dir=None,
                       environ=environ) as (provider, _):
        assert provider.read_load_balancers(["lb-00000000"]) == {}


def test_wrong_key_is_a_signature_failure_without_the_key(standalone: Emulator,
                                                          environ: dict[str, str]) -> None:
    wrong = "not-the-key-0123456789abcdef"
    env = {**environ, "TENCENTCLOUD_SECRET_ID": DEFAULT_SECRET_ID,
           "TENCENTCLOUD_SECRET_KEY": wrong}
    with open_provider(cloud_config(f"http://{standalone.endpoint}"), emulator_data_dir=None,
                       environ=env) as (provider, _), pytest.raises(ProviderError) as caught:
        provider.read_load_balancers(["lb-00000000"])
    assert caught.value.code == "AuthFailure.SignatureFailure"
    assert standalone.stats()["calls"]["DescribeLoadBalancers"] == 1  # not retried
    shown = f"{caught.value} {caught.value.hint}"
    assert wrong not in shown and "TENCENTCLOUD_SECRET_KEY" in shown


def test_unknown_secret_id(standalone: Emulator, environ: dict[str, str]) -> None:
    env = {**environ, "TENCENTCLOUD_SECRET_ID": "AKIDnobody",
           "TENCENTCLOUD_SECRET_KEY": DEFAULT_SECRET_KEY}
    with open_provider(cloud_config(f"http://{standalone.endpoint}"), emulator_data_dir=None,
                       environ=env) as (provider, _), pytest.raises(ProviderError) as caught:
        provider.read_load_balancers(["lb-00000000"])
    assert caught.value.code == "AuthFailure.SecretIdNotFound"


def test_embedded_emulator_bypasses_proxies(tmp_path: Path, environ: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with emulated(tmp_path, environ) as cloud:
        assert cloud.provider.create_load_balancer(LoadBalancerSpec(name="direct")).status == 1


def test_one_world_one_emulator(tmp_path: Path, environ: dict[str, str]) -> None:
    with emulated(tmp_path, environ), pytest.raises(MtlsformError) as caught:  # noqa: SIM117
        with emulated(tmp_path, environ):
            pass
    assert "another emulator" in caught.value.message
    assert "another mtlsform run" in (caught.value.hint or "")


def test_bad_emulator_variables_are_one_clear_error(tmp_path: Path,
                                                    environ: dict[str, str]) -> None:
    with pytest.raises(MtlsformError) as caught:  # noqa: SIM117
        with emulated(tmp_path, {**environ, "MTLSFORM_EMULATOR_FAULTS": "nonsense"}):
            pass
    assert "nonsense" in caught.value.message
    assert "MTLSFORM_EMULATOR_" in (caught.value.hint or "")
