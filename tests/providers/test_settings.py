"""Provider settings: endpoint parsing, region resolution, timeouts from the environment."""

from __future__ import annotations

import pytest

from mtlsform.errors import MtlsformError
from mtlsform.providers.tencentcloud.settings import (
    Backoff,
    cloud_settings,
    emulator_settings,
    parse_endpoint,
)


@pytest.mark.parametrize(("text", "scheme", "host"), [
    ("http://127.0.0.1:9000", "http", "127.0.0.1:9000"),
    ("http://127.0.0.1:9000/", "http", "127.0.0.1:9000"),
    ("HTTPS://clb.example.com", "https", "clb.example.com"),
    ("clb.tencentcloudapi.com", "https", "clb.tencentcloudapi.com"),
    ("127.0.0.1:8443", "https", "127.0.0.1:8443"),
    ("https://{service}.intl.tencentcloudapi.com", "https", "{service}.intl.tencentcloudapi.com"),
])
def test_endpoint_scheme_and_host(text: str, scheme: str, host: str) -> None:
    endpoint = parse_endpoint(text)
    assert (endpoint.scheme, endpoint.host) == (scheme, host)


def test_service_placeholder_names_each_service() -> None:
    endpoint = parse_endpoint("https://{service}.intl.tencentcloudapi.com")
    assert endpoint.host_for("clb") == "clb.intl.tencentcloudapi.com"
    assert endpoint.host_for("ssl") == "ssl.intl.tencentcloudapi.com"
    assert endpoint.url("ssl") == "https://ssl.intl.tencentcloudapi.com"


@pytest.mark.parametrize("text", ["ftp://host", "http://host/api", "http://u:p@host", "  ",
                                  "http://host?x=1"])
def test_bad_endpoints_are_refused(text: str) -> None:
    with pytest.raises(MtlsformError):
        parse_endpoint(text)


def test_cloud_region_from_stack_then_environment() -> None:
    assert cloud_settings("ap-shanghai", None, {"TENCENTCLOUD_REGION": "x"}).region == "ap-shanghai"
    assert cloud_settings(None, None, {"TENCENTCLOUD_REGION": "ap-beijing"}).region == "ap-beijing"


def test_cloud_without_region_names_the_variable() -> None:
    with pytest.raises(MtlsformError) as caught:
        cloud_settings(None, None, {})
    assert "region" in caught.value.message
    assert "TENCENTCLOUD_REGION" in (caught.value.hint or "")


def test_emulator_region_defaults() -> None:
    assert emulator_settings(None, "http://127.0.0.1:1", {}).region == "ap-guangzhou"


def test_timeouts_from_environment() -> None:
    settings = cloud_settings("r", None, {"MTLSFORM_API_TIMEOUT": "7.5",
                                          "MTLSFORM_TASK_TIMEOUT": "120",
                                          "MTLSFORM_RETRY_TIMEOUT": "30"})
    assert (settings.api_timeout, settings.task_timeout, settings.retry_timeout) == (7.5, 120, 30)
    default = cloud_settings("r", None, {})
    assert (default.api_timeout, default.task_timeout, default.retry_timeout) == (60, 600, 300)


@pytest.mark.parametrize("value", ["soon", "0", "-3", "1e9"])
def test_bad_timeout_is_one_clear_error(value: str) -> None:
    with pytest.raises(MtlsformError) as caught:
        cloud_settings("r", None, {"MTLSFORM_TASK_TIMEOUT": value})
    assert "MTLSFORM_TASK_TIMEOUT" in caught.value.message


def test_backoff_doubles_to_its_cap() -> None:
    backoff = Backoff(first=0.5, cap=5)
    assert [backoff.delay(n) for n in range(6)] == [0.5, 1, 2, 4, 5, 5]
    assert backoff.delay(10_000) == 5


def test_target_linger_from_environment() -> None:
    assert cloud_settings("r", None, {}).target_linger == 0.005
    assert emulator_settings(None, "http://127.0.0.1:1", {}).target_linger == 0.005
    assert cloud_settings("r", None, {"MTLSFORM_TARGET_LINGER": "0"}).target_linger == 0
    assert cloud_settings("r", None, {"MTLSFORM_TARGET_LINGER": " 0.02 "}).target_linger == 0.02


@pytest.mark.parametrize("value", ["soon", "-0.1", "2", "nan"])
def test_bad_target_linger_is_one_clear_error(value: str) -> None:
    with pytest.raises(MtlsformError) as caught:
        emulator_settings(None, "http://127.0.0.1:1", {"MTLSFORM_TARGET_LINGER": value})
    assert "MTLSFORM_TARGET_LINGER" in caught.value.message
    assert "0 to turn it off" in (caught.value.hint or "")
