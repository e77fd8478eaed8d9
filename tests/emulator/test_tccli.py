"""Tencent's own CLI, tccli (installed from PyPI into its own virtualenv by the fixture), against
the emulator over HTTPS: the same answers as the SDK, and SignatureFailure with a wrong key.

tccli always speaks HTTPS and trusts only its certifi bundle, so the fixture appends the CA of a
cached emulator TLS certificate to that bundle once (reference §9), and each test copies that
certificate into its emulator's data directory.

The install is the smallest that runs `tccli clb ...`: `pip install tccli` would bring the whole
tencentcloud-sdk-python (every product; a 665 MB venv). tccli reads each service's API from
its own package (tccli/services/clb/v20180317/api.json) and calls the product's SDK module, and
at start-up imports all its plugins (cos needs cos-python-sdk-v5 and its requests, crcmod and
xmltodict; test needs tencentcloud-sdk-python-cvm). So: those packages only, `--no-deps`, pinned
(the SDK and requests to the versions of the environment running the tests), `--no-compile`
(pip would byte-compile tccli's 265 service modules; Python compiles the few it imports), into a
venv made without pip (the running environment's pip installs into it). Measured on 2 shared
vCPUs without a pip cache: the fixture's set-up takes 8.4 s (about 4 s of it building crcmod,
which has no wheel; a pip cache keeps the built wheel) and the venv holds 169 MB (176 MB once
tccli has run), against 68 s here (75-110 s elsewhere) and 665 MB for `pip install tccli`.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, EmulatorConfig
from mtlsform.emulator.tlscert import ensure_server_certificate
from tests.emulator import helpers
from tests.emulator.helpers import call, done

CACHE = Path(__file__).resolve().parents[2] / ".cache"
VENV = CACHE / "tccli-venv"
PINS = VENV / "mtlsform-pins.txt"  # what the venv was made with; another list remakes it


def _same_as_here(name: str) -> str:
    """`name==version` of the copy the tests themselves run with (one SDK, one requests)."""
    return f"{name}=={importlib.metadata.version(name)}"


def tccli_packages() -> list[str]:
    """Every package `tccli clb ...` imports, and nothing else."""
    return [
        "tccli==3.1.189.1",
        _same_as_here("tencentcloud-sdk-python-common"),
        _same_as_here("tencentcloud-sdk-python-clb"),
        "tencentcloud-sdk-python-cvm==3.1.178",  # tccli's `test` plugin, imported at start-up
        "cos-python-sdk-v5==1.9.44",  # the `cos` plugin, imported at start-up, and its imports:
        "crcmod==1.7", "xmltodict==1.0.4",  # (not pycryptodome: only COS encryption uses it)
        "jmespath==1.1.0", "six==1.17.0",
        *(_same_as_here(name) for name in
          ("requests", "urllib3", "idna", "charset-normalizer", "certifi")),
    ]


def _install(packages: list[str]) -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(VENV / "bin" / "python"),
                    "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-compile", *packages], check=True, timeout=600)
    PINS.write_text("\n".join(packages) + "\n")


@pytest.fixture(scope="session")
def tccli() -> Path:
    """The tccli executable, installed on first use (about 10 s; see the module docstring)."""
    CACHE.mkdir(exist_ok=True)
    exe = VENV / "bin" / "tccli"
    packages = tccli_packages()
    with open(CACHE / "tccli-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions must not install at once
        if not exe.exists() or not PINS.exists() or PINS.read_text().split() != packages:
            _install(packages)
        tls = ensure_server_certificate(CACHE / "tccli-tls", "127.0.0.1")
        bundle = Path(subprocess.run(
            [str(VENV / "bin" / "python"), "-c", "import certifi; print(certifi.where())"],
            capture_output=True, text=True, check=True).stdout.strip())
        ca = tls.ca_pem.read_text()
        if ca.strip() not in bundle.read_text():
            with bundle.open("a") as handle:
                handle.write("\n# mtlsform emulator test CA\n" + ca)
    return exe


@pytest.fixture
def tls_emu(tmp_path: Path, tccli: Path) -> Iterator[Emulator]:
    shutil.copytree(CACHE / "tccli-tls" / "tls", tmp_path / "emu" / "tls")
    config = EmulatorConfig(data_dir=tmp_path / "emu", tls=True, task_delay=0.02,
                            rate_limit=None)
    with Emulator(config) as emu:
        yield emu


def _run(tccli: Path, emu: Emulator, home: Path, *args: str,
         key: str = DEFAULT_SECRET_KEY) -> subprocess.CompletedProcess:
    return subprocess.run([str(tccli), "clb", *args, "--endpoint", emu.endpoint,
                           "--secretId", DEFAULT_SECRET_ID, "--secretKey", key,
                           "--region", helpers.REGION],
                          capture_output=True, text=True, timeout=120,
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin"})


def _without_request_id(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "RequestId"}


def test_tccli_sees_what_the_sdk_sees(tccli: Path, tls_emu: Emulator, tmp_path: Path) -> None:
    assert tls_emu.scheme == "https"
    clb = helpers.clb(tls_emu)
    lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
              LoadBalancerName="web").LoadBalancerIds[0]
    home = tmp_path / "home"
    home.mkdir()

    result = _run(tccli, tls_emu, home, "DescribeLoadBalancers")
    assert result.returncode == 0, result.stderr
    sdk = json.loads(call(clb, "DescribeLoadBalancers").to_json_string())
    assert _without_request_id(json.loads(result.stdout)) == _without_request_id(sdk)

    result = _run(tccli, tls_emu, home, "CreateListener", "--LoadBalancerId", lb,
                  "--Ports", "[8080]", "--Protocol", "TCP", "--ListenerNames", '["from-tccli"]',
                  "--HealthCheck", '{"IntervalTime": 10}')
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"ListenerIds", "RequestId"}
    assert helpers.wait(clb, created["RequestId"]).Status == 0
    via_sdk = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[9090], Protocol="TCP",
                   ListenerNames=["from-sdk"], HealthCheck={"IntervalTime": 10})
    assert set(json.loads(via_sdk.to_json_string())) == set(created)

    result = _run(tccli, tls_emu, home, "DescribeListeners", "--LoadBalancerId", lb)
    assert result.returncode == 0, result.stderr
    sdk = json.loads(call(clb, "DescribeListeners", LoadBalancerId=lb).to_json_string())
    assert _without_request_id(json.loads(result.stdout)) == _without_request_id(sdk)
    names = [x["ListenerName"] for x in sdk["Listeners"]]
    assert names == ["from-tccli", "from-sdk"]
    assert sdk["Listeners"][0]["ListenerId"] == created["ListenerIds"][0]


def test_tccli_with_a_wrong_key_gets_signature_failure(tccli: Path, tls_emu: Emulator,
                                                       tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = _run(tccli, tls_emu, home, "DescribeLoadBalancers", key="not-the-key")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "code:AuthFailure.SignatureFailure" in output
    assert tls_emu.stats()["errors"]["DescribeLoadBalancers"] == {
        "AuthFailure.SignatureFailure": 1}
