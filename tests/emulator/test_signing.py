"""TC3-HMAC-SHA256: the reference test vector, and each way a signature check fails."""

from __future__ import annotations

import json
import time
import types
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mtlsform.emulator import Emulator, EmulatorConfig, signing
from mtlsform.emulator.apierror import ApiError
from tests.emulator import helpers
from tests.emulator.helpers import call, code_of, raw

VECTOR_BODY = b'{"LoadBalancerId": "lb-12345678"}'
VECTOR_HEADERS = {"content-type": "application/json", "host": "clb.tencentcloudapi.com"}


def test_signature_matches_the_reference_vector() -> None:
    request = signing.SignedRequest("POST", "/", "", VECTOR_HEADERS, VECTOR_BODY)
    assert signing.payload_hash(VECTOR_BODY) == (
        "699000b1230ae47433fe452991a37fbd1ea030b2f74571f81898321a6d28b1d3")
    canonical = signing.canonical_request("POST", "/", "", VECTOR_HEADERS,
                                          ("content-type", "host"),
                                          signing.payload_hash(VECTOR_BODY))
    assert canonical == ("POST\n/\n\ncontent-type:application/json\nhost:clb.tencentcloudapi.com\n"
                         "\ncontent-type;host\n"
                         "699000b1230ae47433fe452991a37fbd1ea030b2f74571f81898321a6d28b1d3")
    to_sign = signing.string_to_sign(1700000000, "2023-11-14", "clb", canonical)
    assert to_sign.endswith(
        "4096a99c0525e39ea5a6b3ec8722ddec4843c2af09bc95148899329cb6deefeb")
    assert signing.authorization_header("AKIDEXAMPLE", "SECRETEXAMPLE", "clb", 1700000000,
                                        request) == (
        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/clb/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=2fbea1309ede2b9385890b0738bc96b7a45b61c220b2c13f949b7a4995a8a526")


def _verify(headers: dict[str, str], now: float = 1700000000, body: bytes = VECTOR_BODY) -> Any:
    request = signing.SignedRequest("POST", "/", "", headers, body)
    return signing.verify(request, {"AKIDEXAMPLE": "SECRETEXAMPLE"}, now)


def _signed(**extra: str) -> dict[str, str]:
    headers = {**VECTOR_HEADERS, "x-tc-timestamp": "1700000000", **extra}
    request = signing.SignedRequest("POST", "/", "", headers, VECTOR_BODY)
    headers["authorization"] = signing.authorization_header(
        "AKIDEXAMPLE", "SECRETEXAMPLE", "clb", 1700000000, request)
    return headers


def test_verify_accepts_the_vector_and_reports_the_scope() -> None:
    auth = _verify(_signed())
    assert (auth.secret_id, auth.date, auth.service) == ("AKIDEXAMPLE", "2023-11-14", "clb")


@pytest.mark.parametrize(("change", "code"), [
    (lambda h: h.update(authorization="Bearer abc"), "AuthFailure.InvalidAuthorization"),
    (lambda h: h.pop("authorization"), "AuthFailure.InvalidAuthorization"),
    (lambda h: h.update(authorization=h["authorization"].replace("/clb/", "/")),
     "AuthFailure.InvalidAuthorization"),
    (lambda h: h.update(authorization=h["authorization"].replace("AKIDEXAMPLE", "AKIDOTHER")),
     "AuthFailure.SecretIdNotFound"),
    (lambda h: h.update(authorization=h["authorization"][:-1] + "0"),
     "AuthFailure.SignatureFailure"),
    (lambda h: h.update(host="evil.example.com"), "AuthFailure.SignatureFailure"),
    (lambda h: h.update(authorization=h["authorization"].replace("2023-11-14", "2023-11-15")),
     "AuthFailure.SignatureFailure"),
    (lambda h: h.pop("x-tc-timestamp"), "MissingParameter"),
])
def test_verify_refuses_with_its_own_code(change: Any, code: str) -> None:
    headers = _signed()
    change(headers)
    with pytest.raises(ApiError) as info:
        _verify(headers)
    assert info.value.code == code


def test_verify_refuses_a_stale_timestamp() -> None:
    with pytest.raises(ApiError) as info:
        _verify(_signed(), now=1700000000 + 301)
    assert info.value.code == "AuthFailure.SignatureExpire"
    assert _verify(_signed(), now=1700000000 + 299).service == "clb"


def test_verify_refuses_a_changed_body() -> None:
    with pytest.raises(ApiError) as info:
        _verify(_signed(), body=b'{"LoadBalancerId": "lb-87654321"}')
    assert info.value.code == "AuthFailure.SignatureFailure"


def _sdk_error(client: Any) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        call(client, "DescribeLoadBalancers")
    return info.value


def test_sdk_with_a_wrong_key_gets_signature_failure(emu: Emulator) -> None:
    exc = _sdk_error(helpers.clb(emu, secret_key="not-the-key"))
    assert "AuthFailure.SignatureFailure" in str(exc) and exc.requestId


def test_sdk_with_an_unknown_secret_id_gets_secret_id_not_found(emu: Emulator) -> None:
    exc = _sdk_error(helpers.clb(emu, secret_id="AKIDnobody"))
    assert "code:AuthFailure.SecretIdNotFound" in str(exc)


def test_sdk_with_a_v1_signature_is_refused(emu: Emulator) -> None:
    client = helpers.clb(emu)
    client.profile.signMethod = "HmacSHA256"
    exc = _sdk_error(client)
    assert "code:AuthFailure.SignatureMethodNotSupported" in str(exc)


def test_sdk_with_a_skewed_clock_gets_signature_expire(emu: Emulator, monkeypatch: Any) -> None:
    import tencentcloud.common.abstract_client as abstract_client

    # Only the SDK's clock is 10 minutes late; the emulator's (same process) is not touched.
    late = types.SimpleNamespace(time=lambda: time.time() - 600, sleep=time.sleep)
    monkeypatch.setattr(abstract_client, "time", late)
    exc = _sdk_error(helpers.clb(emu))
    assert "code:AuthFailure.SignatureExpire" in str(exc)


def test_malformed_authorization_over_http(emu: Emulator) -> None:
    status, headers, answer = raw(emu, "DescribeLoadBalancers",
                                  headers={"Authorization": "TC3-HMAC-SHA256 nonsense"},
                                  sign=False)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert code_of(answer) == "AuthFailure.InvalidAuthorization"
    assert answer["Response"]["RequestId"]


def test_unsigned_payload_and_extra_signed_headers_are_accepted(emu: Emulator) -> None:
    client = helpers.clb(emu)
    client.profile.unsignedPayload = True
    assert call(client, "DescribeLoadBalancers").TotalCount == 0
    _, _, answer = raw(emu, "DescribeLoadBalancers",
                       signed=("content-type", "host", "x-tc-action"))
    assert code_of(answer) is None


def test_scope_of_another_service_is_refused(emu: Emulator) -> None:
    _, _, answer = raw(emu, "DescribeLoadBalancers", service="ssl", version="2018-03-17")
    assert code_of(answer) == "AuthFailure.SignatureFailure"


def test_session_token_is_checked_when_configured(tmp_path: Any) -> None:
    config = EmulatorConfig(data_dir=tmp_path, session_token="tok-123", rate_limit=None)
    with Emulator(config) as emu:
        assert "code:AuthFailure.TokenFailure" in str(_sdk_error(helpers.clb(emu)))
        client = helpers.clb(emu)
        client.credential.token = "tok-123"
        assert call(client, "DescribeLoadBalancers").TotalCount == 0


def test_error_messages_never_contain_the_secret_key(emu: Emulator) -> None:
    for client in (helpers.clb(emu, secret_key="wrong-key-zzz"), helpers.clb(emu)):
        client.profile.signMethod = "HmacSHA1"
        text = json.dumps(str(_sdk_error(client)))
        assert "wrong-key-zzz" not in text and "mtlsform-emulator-secret-key" not in text


def _portless(emu: Emulator, service: str, signed_host: str, action: str,
              sent_host: str | None = None) -> Any:
    """A request as the Node.js SDK sends it: Host `<service>.localhost:PORT` (or
    `sent_host:PORT`), signed with the host `signed_host` and the service it took from the
    endpoint's first label."""
    import http.client
    import json
    import time

    from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, signing

    port = int(emu.endpoint.rsplit(":", 1)[1])
    now = int(time.time())
    host = sent_host or f"{service}.localhost"
    headers = {"Content-Type": "application/json", "Host": f"{host}:{port}",
               "X-TC-Action": action, "X-TC-Timestamp": str(now),
               "X-TC-Version": "2018-03-17" if service == "clb" else "2019-12-05",
               "X-TC-Region": "ap-guangzhou"}
    lower = {k.lower(): v for k, v in headers.items()} | {"host": signed_host}
    request = signing.SignedRequest("POST", "/", "", lower, b"{}")
    headers["Authorization"] = signing.authorization_header(
        DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, signed_host.split(".")[0], now, request)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", body=b"{}", headers=headers)
        return json.loads(conn.getresponse().read())["Response"]
    finally:
        conn.close()


def test_a_host_signed_without_its_port_is_accepted_under_a_service_named_host(
        emu: Emulator) -> None:
    answer = _portless(emu, "clb", "clb.localhost", "DescribeLoadBalancers")
    assert "Error" not in answer and answer["TotalCount"] == 0
    answer = _portless(emu, "ssl", "ssl.localhost", "DescribeCertificates")
    assert "Error" not in answer and answer["TotalCount"] == 0
    # another host name is still a wrong signature; a service from a numeric first label too
    wrong = _portless(emu, "clb", "clb.example.com", "DescribeLoadBalancers")
    assert wrong["Error"]["Code"] == "AuthFailure.SignatureFailure"
    numeric = _portless(emu, "clb", "127.0.0.1", "DescribeLoadBalancers", "127.0.0.1")
    assert numeric["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert "clb.localhost:PORT" in numeric["Error"]["Message"]
