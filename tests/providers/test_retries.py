"""Retries: throttling and busy CLBs are retried until they pass; nothing else is."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mtlsform.errors import ProviderError
from mtlsform.providers.base import ListenerSpec, LoadBalancerSpec, RuleSpec, TargetSpec
from mtlsform.sensitive import Sensitive
from tests.providers.certs import Pki
from tests.providers.conftest import Cloud, emulated


def with_faults(environ: dict[str, str], **extra: str) -> dict[str, str]:
    return {**environ, **{f"MTLSFORM_EMULATOR_{k}": v for k, v in extra.items()}}


def walk_through(cloud: Cloud, pki: Pki) -> None:
    """Everything the provider does in a deployment, start to finish."""
    p = cloud.provider
    lb = p.create_load_balancer(LoadBalancerSpec(name="web")).id
    ca = p.upload_certificate("CA", pki.ca_pem, None, "ca").id
    server = p.upload_certificate("SVR", pki.server_pem, Sensitive(pki.server_key_pem), "www").id
    listener = p.create_listener(lb, ListenerSpec(name="http", protocol="HTTP", port=80))
    rule = p.create_rule(lb, listener, RuleSpec(domain="www.example.com", url="/"))
    targets = [TargetSpec(port=80, instance_id="ins-rs1"),
               TargetSpec(port=80, instance_id="ins-rs2")]
    p.register_targets(lb, listener, rule, targets)
    p.modify_target_weights(lb, listener, rule, [TargetSpec(port=80, instance_id="ins-rs2",
                                                            weight=50)])
    assert p.read_certificates([ca, server]).keys() == {ca, server}
    read = p.read_listeners(lb)
    assert read is not None
    assert [t.weight for t in read[listener].rules[0].targets] == [10, 50]
    p.deregister_targets(lb, listener, rule, targets)
    p.delete_rule(lb, listener, rule)
    p.delete_listener(lb, listener)
    p.delete_certificate(server)
    p.delete_certificate(ca)
    p.delete_load_balancer(lb)
    assert p.read_load_balancers([lb]) == {}


def test_thirty_percent_throttling_and_busy_converges(tmp_path: Path, environ: dict[str, str],
                                                      pki: Pki,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    faults = with_faults(environ, FAULTS="*:RequestLimitExceeded:0.3,"
                                         "*:FailedOperation.ResourceInOperating:0.3,"
                                         "UploadCertificate:LimitExceeded.RateLimitExceeded:0.3")
    caplog.set_level(logging.INFO, logger="mtlsform.provider")
    with emulated(tmp_path, faults) as cloud:
        walk_through(cloud, pki)
        stats = cloud.context.emulator_stats()
    assert stats["faults_injected"] > 10
    seen = {code for per_action in stats["errors"].values() for code in per_action}
    assert {"RequestLimitExceeded", "FailedOperation.ResourceInOperating"} <= seen
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) >= stats["faults_injected"] - 5  # the gone-deletes are not retried
    assert any("RequestLimitExceeded" in line for line in retries)


def test_request_limit_sub_codes_are_retried(tmp_path: Path, environ: dict[str, str]) -> None:
    faults = with_faults(environ, FAULTS="DescribeLoadBalancers:"
                                         "RequestLimitExceeded.UinLimitExceeded:0.5")
    with emulated(tmp_path, faults) as cloud:
        for _ in range(6):
            assert cloud.provider.read_load_balancers(["lb-00000000"]) == {}
        assert cloud.errors()["DescribeLoadBalancers"]["RequestLimitExceeded.UinLimitExceeded"]


def test_the_emulator_rate_limit_is_ridden_out(tmp_path: Path, environ: dict[str, str]) -> None:
    limited = with_faults(environ, RATE_LIMIT="5")
    with emulated(tmp_path, limited) as cloud:
        for _ in range(8):
            cloud.provider.read_load_balancers(["lb-00000000"])
        assert cloud.errors()["DescribeLoadBalancers"]["RequestLimitExceeded"] >= 1
        assert cloud.calls()["DescribeLoadBalancers"] > 8


@pytest.mark.parametrize("code", ["InvalidParameter", "InternalError", "LimitExceeded",
                                  "UnauthorizedOperation"])
def test_other_errors_fail_at_once(tmp_path: Path, environ: dict[str, str], code: str) -> None:
    faults = with_faults(environ, FAULTS=f"CreateListener:{code}:1")
    with emulated(tmp_path, faults) as cloud:
        lb = cloud.provider.create_load_balancer(LoadBalancerSpec(name="web")).id
        with pytest.raises(ProviderError) as caught:
            cloud.provider.create_listener(lb, ListenerSpec(name="h", protocol="HTTP", port=80))
        assert cloud.calls()["CreateListener"] == 1
    assert caught.value.code == code
    assert f"CreateListener: {code}:" in str(caught.value)
    assert caught.value.request_id


def test_a_failed_task_is_an_error_with_its_message(tmp_path: Path,
                                                    environ: dict[str, str]) -> None:
    failing = with_faults(environ, TASK_FAILURES="CreateListener:1")
    with emulated(tmp_path, failing) as cloud:
        lb = cloud.provider.create_load_balancer(LoadBalancerSpec(name="web")).id
        with pytest.raises(ProviderError) as caught:
            cloud.provider.create_listener(lb, ListenerSpec(name="h", protocol="HTTP", port=80))
        assert cloud.calls()["CreateListener"] == 1
        assert cloud.provider.read_listeners(lb) == {}
    assert caught.value.code == "TaskFailed"
    assert "CreateListener" in str(caught.value) and "injected" in caught.value.message


def test_task_timeout(tmp_path: Path, environ: dict[str, str]) -> None:
    slow = with_faults(environ, TASK_DELAY="3")
    slow["MTLSFORM_TASK_TIMEOUT"] = "0.3"
    with emulated(tmp_path, slow) as cloud:
        with pytest.raises(ProviderError) as caught:
            cloud.provider.create_load_balancer(LoadBalancerSpec(name="slow"))
        cloud.context.emulator.wait_for_tasks()
    assert caught.value.code == "TaskTimeout"
    assert "MTLSFORM_TASK_TIMEOUT" in (caught.value.hint or "")


def test_network_errors_are_retried_a_few_times(tmp_path: Path,
                                                environ: dict[str, str]) -> None:
    with emulated(tmp_path, environ) as cloud:
        cloud.context.emulator.stop()  # the endpoint now refuses connections
        with pytest.raises(ProviderError) as caught:
            cloud.provider.read_load_balancers(["lb-00000000"])
    assert caught.value.code == "ClientNetworkError"
    assert "5 network failures" in (caught.value.hint or "")


def test_retries_stop_at_the_retry_timeout(tmp_path: Path, environ: dict[str, str]) -> None:
    always = with_faults(environ, FAULTS="DescribeLoadBalancers:RequestLimitExceeded:1")
    always["MTLSFORM_RETRY_TIMEOUT"] = "0.5"
    with emulated(tmp_path, always) as cloud:
        with pytest.raises(ProviderError) as caught:
            cloud.provider.read_load_balancers(["lb-00000000"])
        attempts = cloud.calls()["DescribeLoadBalancers"]
    assert caught.value.code == "RequestLimitExceeded"
    assert "MTLSFORM_RETRY_TIMEOUT" in (caught.value.hint or "")
    assert attempts > 1


def test_ssl_rate_limit_is_retried(tmp_path: Path, environ: dict[str, str], pki: Pki) -> None:
    with emulated(tmp_path, with_faults(environ, RATE_LIMIT="3")) as cloud:
        ids = {cloud.provider.upload_certificate("CA", pki.ca_pem, None, "ca").id for _ in range(5)}
        assert len(ids) == 1
        assert cloud.errors()["UploadCertificate"]["LimitExceeded.RateLimitExceeded"] >= 1
