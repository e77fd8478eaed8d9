"""The official Node.js SDK (tencentcloud-sdk-nodejs, installed from npm into .cache by the
fixture) against the served emulator: it signs the Host without its port and takes the service
from the endpoint's first label, so it is pointed at `clb.localhost:PORT` (docs/emulator.md).
The name is resolved to the emulator's address by the HTTP agent given to the SDK, so the test
needs no /etc/hosts entry."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY
from tests.emulator.helpers import done

CACHE = Path(__file__).resolve().parents[2] / ".cache"
FOLDER = CACHE / "nodejs-sdk"
PACKAGE = "tencentcloud-sdk-nodejs@4.1.313"

SCRIPT = """
const http = require("http");
const tencentcloud = require("tencentcloud-sdk-nodejs");
const [endpoint, address, secretId, secretKey] = process.argv.slice(2);
const agent = new http.Agent({ lookup: (host, options, done) =>
  options && options.all ? done(null, [{ address, family: 4 }]) : done(null, address, 4) });
const client = new tencentcloud.clb.v20180317.Client({
  credential: { secretId, secretKey },
  region: "ap-guangzhou",
  profile: { httpProfile: { endpoint, protocol: "http://", agent } },
});
client.DescribeLoadBalancers({}).then(
  (answer) => console.log(JSON.stringify(answer)),
  (error) => { console.log(JSON.stringify({ error: error.code || "", message: error.message }));
               process.exitCode = 3; });
"""


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    """The folder holding node_modules/tencentcloud-sdk-nodejs (installed on first use)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / "nodejs-sdk.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = FOLDER / "mtlsform-package.txt"
        if not marker.exists() or marker.read_text().strip() != PACKAGE:
            shutil.rmtree(FOLDER, ignore_errors=True)
            FOLDER.mkdir(parents=True)
            subprocess.run(["npm", "install", "--prefix", str(FOLDER), "--no-audit", "--no-fund",
                            "--silent", PACKAGE], check=True, timeout=600)
            marker.write_text(PACKAGE + "\n")
    (FOLDER / "describe.js").write_text(SCRIPT)
    return FOLDER


def _describe(node_sdk: Path, emu: Any, endpoint: str, key: str = DEFAULT_SECRET_KEY) -> Any:
    address = emu.endpoint.rsplit(":", 1)[0]
    result = subprocess.run(["node", str(node_sdk / "describe.js"), endpoint, address,
                             DEFAULT_SECRET_ID, key],
                            capture_output=True, text=True, timeout=60, cwd=node_sdk)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_nodejs_sdk_lists_load_balancers_through_a_service_named_host(
        node_sdk: Path, emu: Any, clb: Any) -> None:
    lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
              LoadBalancerName="web").LoadBalancerIds[0]
    port = emu.endpoint.rsplit(":", 1)[1]
    answer = _describe(node_sdk, emu, f"clb.localhost:{port}")
    assert answer.get("TotalCount") == 1, answer
    assert answer["LoadBalancerSet"][0]["LoadBalancerId"] == lb
    wrong = _describe(node_sdk, emu, f"clb.localhost:{port}", key="not-the-key")
    assert wrong["error"] == "AuthFailure.SignatureFailure"
    # the address itself as endpoint: the SDK signs for service "127", named in the refusal
    numeric = _describe(node_sdk, emu, emu.endpoint)
    assert numeric["error"] == "AuthFailure.SignatureFailure"
    assert "clb.localhost:PORT" in numeric["message"]
