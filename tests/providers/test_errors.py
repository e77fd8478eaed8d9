"""Error classes: what is retried, what counts as gone, and scrubbing of secrets."""

from __future__ import annotations

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mtlsform.errors import ProviderError
from mtlsform.providers.tencentcloud.errors import is_gone, is_retryable, scrub, translate


def error(code: str, message: str = "m") -> ProviderError:
    return ProviderError(message, code=code)


@pytest.mark.parametrize("code", [
    "RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded", "FailedOperation.ResourceInOperating",
    "LimitExceeded.RateLimitExceeded", "ClientNetworkError", "ServerNetworkError",
])
def test_retryable_codes(code: str) -> None:
    assert is_retryable(error(code))


@pytest.mark.parametrize("code", [
    "InternalError", "InvalidParameter", "InvalidParameter.PortCheckFailed", "LimitExceeded",
    "AuthFailure.SignatureFailure", "FailedOperation", "MissingParameter", "UnknownParameter",
    "FailedOperation.CertificateNotFound",
])
def test_not_retryable_codes(code: str) -> None:
    assert not is_retryable(error(code))


@pytest.mark.parametrize("message", [
    "Loadbalancer(lb-1) is not in normal desState, maybe some tasks are being processed",
    "Your task is working (BindTargetGroupDevice). Pls wait for the task to complete",
    "Task Check Failed : Same wsName is Working(AddQLBL4ListenerDevice), pls Try Later",
])
def test_busy_messages_are_retryable_under_any_code(message: str) -> None:
    assert is_retryable(error("FailedOperation", message))
    assert not is_retryable(error("InternalError", message))


def test_gone_codes() -> None:
    assert is_gone(error("InvalidParameter.LBIdNotFound"))
    assert is_gone(error("FailedOperation.CertificateNotFound"))
    assert not is_gone(error("InvalidParameter"))


def test_translate_keeps_code_message_request_id_and_action() -> None:
    exc = TencentCloudSDKException("InvalidParameter", "bad port", "rid-1")
    translated = translate(exc, "CreateListener")
    assert (translated.code, translated.message, translated.request_id, translated.action) == (
        "InvalidParameter", "bad port", "rid-1", "CreateListener")
    assert str(translated) == "CreateListener: InvalidParameter: bad port (RequestId rid-1)"


def test_server_network_error_body_is_decoded() -> None:
    translated = translate(TencentCloudSDKException("ServerNetworkError", b"oops"), "X")
    assert "oops" in translated.message and "b'" not in translated.message


def test_scrub_removes_private_keys_and_secrets() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----"
    text = scrub(f"bad key {pem} with secret hunter2hunter2", ["hunter2hunter2"])
    assert "MIGHAgEAMBMG" not in text and "hunter2" not in text
    assert "(sensitive)" in text
    truncated = scrub("-----BEGIN EC PRIVATE KEY-----\nABCDEF")
    assert "ABCDEF" not in truncated
