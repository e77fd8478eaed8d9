"""The pipelines of examples/ (issue 14, "Done when"): each pipeline's steps, the very scripts
the GitHub Actions and GitLab CI files call, run in a fresh `git clone` of this repository
against a served emulator (as the cloud, with credentials passed the way a CI's secret store
passes them), in this order:

1. the plan of a pull request that moves the entry point from port 443 to 8443 (removes a
   listener, adds one): validated, saved, its comment created;
2. the policy check fails on the listener's destroy; once a reviewer adds the label
   allow-destroy, the pipeline runs again, the comment is updated in place and the check
   passes;
3. the merge: exactly the saved plan is applied;
4. a change made outside mtlsform, through the SDK;
5. the nightly job exits non-zero on that drift;
6. `apply --refresh-only` (record-drift.sh) records it;
7. the nightly drift check is clean.

Nothing is installed: the scripts find this test's `mtlsform` and `python3` first on PATH.
Every output and every file the pipelines wrote is free of keys and passwords.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from tencentcloud.clb.v20180317 import clb_client, models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.e2e.conftest import mtlsform_command
from tests.pullrequest.forge import TOKEN, Forge, served_forge

REPO = Path(__file__).resolve().parents[2]
SECRET_ID = "AKIDpipelineTest0000000000000000"
SECRET_KEY = "pipeline-secret-key-never-printed"
P12_PASSWORD = "pipeline-p12-password-never-printed"
ARTIFACTS = "https://github.com/acme/infra/actions/runs/4242"
ALT_LISTENER = """
  alt:
    load_balancer: web
    protocol: HTTPS
    port: 8443
    sni: false
    tls: {mode: mutual, certificate: server, client_ca: ca}
    rules:
      - domain: "${var.domain}"
        url: /
        backends: [rs-1]
"""


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[str]:
    """`mtlsform emulator serve` standing in for Tencent Cloud, with its own key: its URL."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MTLSFORM_", "TENCENTCLOUD_"))}
    env.update(MTLSFORM_EMULATOR_SECRET_ID=SECRET_ID, MTLSFORM_EMULATOR_SECRET_KEY=SECRET_KEY,
               MTLSFORM_EMULATOR_CALL_LOG=str(tmp_path / "writes.log"))
    log = tmp_path / "cloud.log"
    with log.open("w") as sink:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            [*mtlsform_command(), "emulator", "serve", "--port", "0", "--task-delay", "0.02",
             "--rate-limit", "off", "--data-dir", str(tmp_path / "cloud")],
            env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    url = ""
    for _ in range(3000):
        url = next((line.split()[-1] for line in log.read_text().splitlines()
                    if line.strip().startswith("endpoint")), "")
        if url or process.poll() is not None:
            break
        time.sleep(0.01)
    if not url:
        process.kill()
        pytest.fail("emulator serve did not start:\n" + log.read_text())
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _sdk(url: str) -> clb_client.ClbClient:
    http = HttpProfile(protocol="http", endpoint=url.split("://", 1)[1])
    return clb_client.ClbClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou",
                                ClientProfile(httpProfile=http))


def _call(client: clb_client.ClbClient, action: str, params: dict) -> dict:
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return json.loads(getattr(client, action)(request).to_json_string())


def _wait(client: clb_client.ClbClient, task_id: str) -> None:
    for _ in range(200):
        if _call(client, "DescribeTaskStatus", {"TaskId": task_id})["Status"] == 0:
            return
        time.sleep(0.02)
    pytest.fail(f"task {task_id} did not end")


class Pipeline:
    """The clone, the environment a CI job gives the scripts, and everything they printed."""

    def __init__(self, clone: Path, env: dict[str, str]) -> None:
        self.clone = clone
        self.env = env
        self.printed: list[str] = []

    def run(self, script: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["bash", f"examples/ci/{script}", *args], cwd=self.clone,
                                env={**self.env, **extra}, capture_output=True, text=True,
                                timeout=120, check=False)
        self.printed.append(result.stdout + result.stderr)
        return result


def _writes(tmp_path: Path) -> int:
    """How many writes reached the cloud so far (the emulator logs each one that lands)."""
    log = tmp_path / "writes.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _pull_request(tmp_path: Path, number: int) -> str:
    event = tmp_path / f"event-{number}.json"
    event.write_text(json.dumps({"pull_request": {"number": number}}))
    return str(event)


def test_pull_request_merge_and_nightly_pipelines(tmp_path, cloud):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    assert (clone / "examples/ci/pr.sh").exists()  # the committed scripts, nothing else
    main = (clone / "stacks/example.yaml").read_text().replace(
        "stack: example", "stack: edge").replace("name: example-clb", "name: edge-clb").replace(
        "  kind: emulator               # emulator (embedded default) | tencentcloud\n",
        f"  kind: tencentcloud\n  endpoint: {cloud}\n")
    assert f"endpoint: {cloud}" in main
    stack = clone / "infra/edge.yaml"
    stack.parent.mkdir()
    # the listener https (443) removed, the listener alt (8443) added
    moved = (main.split("listeners:\n")[0] + "listeners:" + ALT_LISTENER + "\noutputs:"
             + main.split("\noutputs:")[1])
    assert "port: 443" not in moved and "port: 8443" in moved

    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("MTLSFORM_", "TENCENTCLOUD_", "GITHUB_", "GITLAB_", "CI_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", NO_COLOR="1",
        TENCENTCLOUD_SECRET_ID=SECRET_ID, TENCENTCLOUD_SECRET_KEY=SECRET_KEY,
        MTLSFORM_P12_PASSWORD=P12_PASSWORD, MTLSFORM_STACK="infra/edge.yaml",
        STATE_FILE=str(tmp_path / "runner-state/edge.state.json"), GITHUB_REPOSITORY="acme/infra",
        GITHUB_TOKEN=TOKEN, COMMENT_ON="github", ARTIFACT_URL=ARTIFACTS)
    pipeline = Pipeline(clone, env)
    schema = json.loads((clone / "schemas/plan.schema.json").read_text())
    client = _sdk(cloud)

    # main, as deployed before the pipelines (one listener, https on 443)
    stack.write_text(main)
    bootstrap = subprocess.run([*mtlsform_command(), "apply", "--auto-approve", "--state",
                                env["STATE_FILE"]], cwd=clone, env=env, capture_output=True,
                               text=True, timeout=120, check=False)
    pipeline.printed.append(bootstrap.stdout + bootstrap.stderr)
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr

    with served_forge() as forge:
        env["GITHUB_API_URL"] = forge.url
        _steps(pipeline, forge, tmp_path, stack, moved, schema, client)

    printed = "\n".join(pipeline.printed)
    written = "\n".join(p.read_text(errors="replace") for p in (clone / "pr-1").iterdir())
    printed += (tmp_path / "cloud.log").read_text()
    forge_bodies = "\n".join(b for c in forge.comments.values() for b in (x["body"] for x in c))
    for secret in (SECRET_KEY, P12_PASSWORD, TOKEN, "PRIVATE KEY"):
        assert secret not in printed and secret not in written and secret not in forge_bodies


def _steps(pipeline: Pipeline, forge: Forge, tmp_path: Path, stack: Path, moved: str,
           schema: dict, client: clb_client.ClbClient) -> None:
    validator = jsonschema.Draft202012Validator(schema)

    # 1. pull request 1 moves the entry point from 443 to 8443: validated, planned, saved,
    # its comment created with the plan folded in and a link to the artefact
    stack.write_text(moved)
    event = _pull_request(tmp_path, 1)
    deployed = _writes(tmp_path)
    assert deployed > 0
    pr = pipeline.run("pr.sh", PLAN_DIR="pr-1", GITHUB_EVENT_PATH=event)
    assert "infra/edge.yaml: valid" in pr.stdout, pr.stdout + pr.stderr
    assert "Created the plan comment on pull request 1 of acme/infra" in pr.stdout
    plan = json.loads((pipeline.clone / "pr-1/plan.json").read_text())
    assert validator.is_valid(plan) and plan["summary"] == {
        "add": 3, "change": 0, "destroy": 4, "forget": 0}
    [comment] = forge.bodies("acme/infra", 1)
    assert comment.startswith("<!-- mtlsform-plan: edge -->\n### mtlsform plan for")
    assert f"[plan artefact](<{ARTIFACTS}>)" in comment
    assert "<details><summary>Full plan</summary>" in comment
    assert "> [!CAUTION]" in comment and "`listener.https`" in comment

    # 2. the policy check fails on the listener's destroy (after the comment: reviewers see it)
    assert pr.returncode == 1, pr.stdout + pr.stderr
    assert ("policy: refused: listener.https would be destroyed "
            "(delete_because_no_resource_config)") in pr.stderr, pr.stderr

    # a reviewer adds the label allow-destroy: the pipeline runs again, the comment is
    # updated in place, and the policy lets the destroy through
    pr = pipeline.run("pr.sh", PLAN_DIR="pr-1", GITHUB_EVENT_PATH=event, ALLOW_DESTROY="true")
    assert pr.returncode == 0, pr.stdout + pr.stderr
    assert "Updated the plan comment on pull request 1 of acme/infra" in pr.stdout
    assert "policy: allowed (3 to add, 0 to change, 4 to destroy)" in pr.stderr, pr.stderr
    assert len(forge.bodies("acme/infra", 1)) == 1
    assert sum(method == "POST" for method, _ in forge.requests) == 1
    assert _writes(tmp_path) == deployed  # planning wrote nothing to the cloud

    # 3. the merge applies exactly the saved plan
    merged = pipeline.run("merge.sh", "pr-1/stack.plan")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "Resources: 3 added, 0 changed, 4 destroyed." in merged.stdout + merged.stderr
    [lb] = _call(client, "DescribeLoadBalancers", {})["LoadBalancerSet"]
    listeners = _call(client, "DescribeListeners", {"LoadBalancerId": lb["LoadBalancerId"]})
    assert [x["Port"] for x in listeners["Listeners"]] == [8443]
    merged_writes = _writes(tmp_path)
    assert merged_writes > deployed

    # 4. someone changes a weight in the console (here: the SDK, as the console does)
    [alt] = listeners["Listeners"]
    answer = _call(client, "ModifyTargetWeight", {
        "LoadBalancerId": lb["LoadBalancerId"], "ListenerId": alt["ListenerId"],
        "LocationId": alt["Rules"][0]["LocationId"],
        "Targets": [{"InstanceId": "ins-rs1", "Port": 80, "Weight": 55}]})
    _wait(client, answer["RequestId"])
    assert _writes(tmp_path) == merged_writes + 1

    # 5. the nightly job finds it and fails
    nightly = pipeline.run("nightly.sh")
    assert nightly.returncode == 2, nightly.stdout + nightly.stderr
    assert "weight = 10 -> 55" in nightly.stdout, nightly.stdout
    assert "FINDING: objects changed outside mtlsform" in nightly.stderr
    assert "FINDING: a certificate" not in nightly.stderr

    # 6. the drift is accepted: recorded in the state, nothing written to the cloud
    recorded = pipeline.run("record-drift.sh")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "Refresh complete!" in recorded.stderr, recorded.stderr

    # 7. the next nightly run is clean
    clean = pipeline.run("nightly.sh")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No drift, no certificate due." in clean.stderr
    assert _writes(tmp_path) == merged_writes + 1  # nightly and record-drift wrote nothing
