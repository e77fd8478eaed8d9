"""Limits and injected faults: per-action rate limit, errors per action and code (seedable),
latency, and the crash after N mutating calls (a real `mtlsform emulator serve` process)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mtlsform.emulator import Emulator, EmulatorConfig, FaultConfig, FaultRule
from mtlsform.emulator.faults import Faults, RateLimiter
from tests.emulator import helpers
from tests.emulator.helpers import call, error_of

RATE_MESSAGE = re.compile(r"Your current request times equals to `(\d+)` in a second, which "
                          r"exceeds the frequency limit `(\d+)` for a second\. Please reduce "
                          r"the frequency of calls\.")


def test_rate_limiter_counts_per_action_in_a_sliding_second() -> None:
    now = [100.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.admit("A") for _ in range(5)] == [None, None, None, 4, 4]
    assert limiter.admit("B") is None  # each action has its own budget
    now[0] += 1.01
    assert limiter.admit("A") is None
    slow = RateLimiter(0.5, clock=lambda: now[0])
    assert [slow.admit("A"), slow.admit("A")] == [None, 2]
    now[0] += 2.01
    assert slow.admit("A") is None
    assert RateLimiter(None).admit("A") is None
    capped = RateLimiter(20, clock=lambda: now[0])  # an SSL action: at most 10 a second
    assert [capped.admit("S", 10) for _ in range(11)][-2:] == [None, 11]
    assert [capped.admit("C") for _ in range(20)][-1] is None
    assert (capped.limit_for(10), capped.limit_for(30), RateLimiter(None).limit_for(10)) == (
        10, 20, None)


def test_ssl_actions_are_limited_to_10_requests_a_second(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(data_dir=tmp_path, rate_limit=20)) as emu:
        ssl = helpers.ssl(emu)
        messages = []
        for _ in range(40):
            try:
                call(ssl, "DescribeCertificates")
            except TencentCloudSDKException as exc:
                assert exc.code == "LimitExceeded.RateLimitExceeded"
                messages.append(exc.message)
        assert messages
        match = RATE_MESSAGE.fullmatch(messages[0])
        assert match and match.group(2) == "10"


def test_rate_limit_answers_like_the_cloud(tmp_path: Path, pki: dict) -> None:
    with Emulator(EmulatorConfig(data_dir=tmp_path, rate_limit=2)) as emu:
        clb, ssl = helpers.clb(emu), helpers.ssl(emu)
        errors = []
        for _ in range(10):
            try:
                call(clb, "DescribeLoadBalancers")
            except TencentCloudSDKException as exc:
                errors.append(exc)
        assert errors and all(e.code == "RequestLimitExceeded" for e in errors)
        match = RATE_MESSAGE.fullmatch(errors[0].message)
        assert match and int(match.group(1)) > 2 and match.group(2) == "2"
        ssl_errors = []
        for _ in range(10):
            try:
                call(ssl, "DescribeCertificates")
            except TencentCloudSDKException as exc:
                ssl_errors.append(exc.code)
        assert ssl_errors and set(ssl_errors) == {"LimitExceeded.RateLimitExceeded"}


def _outcomes(tmp_path: Path, seed: int) -> list[str]:
    faults = FaultConfig(errors=(FaultRule("*", "RequestLimitExceeded", 0.3),), seed=seed)
    with Emulator(EmulatorConfig(data_dir=tmp_path, rate_limit=None, faults=faults)) as emu:
        clb = helpers.clb(emu)
        out = []
        for _ in range(40):
            try:
                call(clb, "DescribeLoadBalancers")
                out.append("ok")
            except TencentCloudSDKException as exc:
                out.append(exc.code)
        assert emu.stats()["faults_injected"] == out.count("RequestLimitExceeded")
        return out


def test_injected_errors_are_repeatable_with_a_seed(tmp_path: Path) -> None:
    first = _outcomes(tmp_path / "a", seed=7)
    assert first == _outcomes(tmp_path / "b", seed=7)
    assert 0 < first.count("RequestLimitExceeded") < 40
    assert first != _outcomes(tmp_path / "c", seed=8)


def test_injected_error_for_one_action(tmp_path: Path) -> None:
    rule = FaultRule("RegisterTargets", "FailedOperation.ResourceInOperating", 1.0)
    config = EmulatorConfig(data_dir=tmp_path, rate_limit=None, task_delay=0.01,
                            faults=FaultConfig(errors=(rule,)))
    with Emulator(config) as emu:
        clb = helpers.clb(emu)
        lb = helpers.done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
        lst = helpers.done(clb, "CreateListener", LoadBalancerId=lb, Ports=[22],
                           Protocol="TCP").ListenerIds[0]
        exc = error_of(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=lst,
                       Targets=[{"InstanceId": "ins-rs1", "Port": 22}])
        assert "code:FailedOperation.ResourceInOperating" in str(exc) and lb in exc.message
        assert call(clb, "DescribeTargets", LoadBalancerId=lb).Listeners[0].Targets == []
        assert emu.stats()["errors"]["RegisterTargets"] == {
            "FailedOperation.ResourceInOperating": 1}


def test_the_nth_mutating_call_to_arrive_is_refused_even_when_calls_overlap() -> None:
    faults = Faults(FaultConfig(fail_call=2))
    # two calls arrive before either lands (concurrent workers): the second is the 2nd
    assert faults.refused_call() is None
    refused = faults.refused_call()
    assert refused is not None and refused.code == "InternalError"
    faults.count_mutation("A")
    faults.count_mutation("B")
    assert faults.refused_call() is None and faults.injected == 1  # once only


def test_one_of_many_concurrent_mutating_calls_is_refused(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path, rate_limit=None, task_delay=0.01,
                            faults=FaultConfig(fail_call=3))
    with Emulator(config) as emu:
        clb = helpers.clb(emu)

        def create(_: int) -> str:
            try:
                call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN")
                return "ok"
            except TencentCloudSDKException as exc:
                return exc.code

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(create, range(8)))
    assert sorted(outcomes) == ["InternalError"] + ["ok"] * 7


def test_latency_and_task_failure_rules_pick_the_most_specific() -> None:
    faults = Faults(FaultConfig(latency=(("*", 0.01), ("CreateRule", 0.5)),
                                task_failures=(("DeleteRule", 1.0),), seed=1))
    assert (faults.latency("CreateRule"), faults.latency("DeleteRule")) == (0.5, 0.01)
    assert faults.task_failure("DeleteRule") and faults.task_failure("CreateRule") is None


def _serve(data_dir: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mtlsform", "emulator", "serve", "--port", "0",
                             "--data-dir", str(data_dir), "--task-delay", "0.01", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "endpoint" in line:
            return proc, line.split("//", 1)[1].strip()
    raise AssertionError(f"no endpoint printed: {proc.communicate()}")


class _At:
    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.scheme, self.ca_path = endpoint, "http", None


def _upload_twice(endpoint: str, pki: dict) -> list[str]:
    ssl = helpers.ssl(_At(endpoint))
    outcomes = []
    for _ in range(2):
        try:
            call(ssl, "UploadCertificate", CertificatePublicKey=pki["ca"].cert,
                 CertificateType="CA")
            outcomes.append("ok")
        except TencentCloudSDKException as exc:
            outcomes.append(exc.code)
    return outcomes


@pytest.mark.parametrize(("flags", "kept"), [((), 2), (("--crash-before-apply",), 1)])
def test_crash_after_mutating_calls(tmp_path: Path, pki: dict, flags: tuple, kept: int) -> None:
    crash_after = "2" if not flags else "1"
    proc, endpoint = _serve(tmp_path, "--crash-after", crash_after, *flags)
    try:
        assert _upload_twice(endpoint, pki) == ["ok", "ClientNetworkError"]
        assert proc.wait(timeout=30) == 137
    finally:
        if proc.poll() is None:
            proc.kill()
    with proc.stdout, proc.stderr:
        assert "simulated crash" in proc.stderr.read()
    with Emulator(EmulatorConfig(data_dir=tmp_path)) as emu:
        assert len(emu.world.snapshot().certificates) == kept


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, endpoint = _serve(tmp_path, "--secret-key", "my-own-secret-key")
    try:
        ssl = helpers.ssl(_At(endpoint), secret_key="my-own-secret-key")
        assert call(ssl, "DescribeCertificates").TotalCount == 0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "world saved" in err
    assert "my-own-secret-key" not in out + err
    assert (tmp_path / "world.json").stat().st_mode & 0o777 == 0o600


def test_serve_refuses_bad_flags_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "mtlsform", "emulator", "serve", "--data-dir",
                           str(tmp_path), "--fault", "Create:oops"], capture_output=True,
                          text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=60)
    assert proc.returncode == 1
    assert "error: fault 'Create:oops': expected ACTION:CODE:RATE" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stats_report_shape(emu: Emulator, clb: Any) -> None:
    call(clb, "DescribeLoadBalancers")
    stats = emu.stats()
    assert stats["calls"] == {"DescribeLoadBalancers": 1} and stats["total"] == 1
    assert set(stats) == {"total", "calls", "errors", "internal_errors", "tasks",
                          "faults_injected"}
