"""The CI files of examples/ call the scripts that exist (tests/examples/test_pipelines.py runs
them), applies and the nightly job share one concurrency group that is never cancelled,
credentials come only from the CI's secret store, and the policy check refuses what it
should."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
GITHUB = {p.name: yaml.safe_load(p.read_text())
          for p in sorted((EXAMPLES / "github-actions").glob("*.yml"))}
GITLAB = yaml.safe_load((EXAMPLES / "gitlab-ci/.gitlab-ci.yml").read_text())
CREDENTIALS = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "MTLSFORM_STATE_PASSPHRASE",
               "MTLSFORM_P12_PASSWORD", "GITHUB_TOKEN", "GITLAB_TOKEN")


def _called_scripts(text: str) -> set[str]:
    return set(re.findall(r"bash ci/([a-z-]+\.sh)", text))


def test_every_script_the_ci_files_call_exists_and_parses():
    texts = [p.read_text() for p in (EXAMPLES / "github-actions").glob("*.yml")]
    texts.append((EXAMPLES / "gitlab-ci/.gitlab-ci.yml").read_text())
    called = set().union(*map(_called_scripts, texts))
    assert called == {"pr.sh", "merge.sh", "nightly.sh", "record-drift.sh"}
    for script in called | {"common.sh"}:
        checked = subprocess.run(["bash", "-n", str(EXAMPLES / "ci" / script)],
                                 capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr


def test_applies_never_overlap():
    apply = GITHUB["mtlsform-apply.yml"]["jobs"]["apply"]["concurrency"]
    nightly = GITHUB["mtlsform-nightly.yml"]["jobs"]["drift"]["concurrency"]
    assert apply == nightly == {"group": "mtlsform-state-production",
                                "cancel-in-progress": False}
    writers = {name: job.get("resource_group") for name, job in GITLAB.items()
               if name in ("mtlsform:apply", "mtlsform:nightly", "mtlsform:record-drift")}
    assert set(writers.values()) == {"mtlsform-state-production"} and len(writers) == 3


def _env_values(node: object) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CREDENTIALS:
                found.append((key, str(value)))
            found += _env_values(value)
    elif isinstance(node, list):
        for item in node:
            found += _env_values(item)
    return found


def test_credentials_come_from_the_secret_store():
    given = [pair for workflow in GITHUB.values() for pair in _env_values(workflow)]
    assert {name for name, _ in given} >= {"TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY",
                                           "GITHUB_TOKEN"}
    for name, value in given:
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z0-9_]+ \}\}", value), (name, value)
    assert _env_values(GITLAB) == []  # GitLab passes masked CI/CD variables by themselves


def _policy(tmp_path: Path, plan: dict, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return subprocess.run([sys.executable, str(EXAMPLES / "policy/check_plan.py"), str(path),
                           *args], capture_output=True, text=True, check=False)


@pytest.fixture
def created() -> dict:
    return json.loads((REPO / "tests/plan/golden/example-create.json").read_text())


def test_the_policy_allows_creates_and_refuses_destroying_a_listener(tmp_path, created):
    allowed = _policy(tmp_path, created)
    assert allowed.returncode == 0, allowed.stderr
    assert "policy: allowed (10 to add, 0 to change, 0 to destroy)" in allowed.stderr
    destroying = copy.deepcopy(created)
    listener = next(c for c in destroying["resource_changes"] if c["type"] == "listener")
    listener["change"]["actions"] = ["delete", "create"]
    listener["action_reason"] = "replace_because_cannot_update"
    refused = _policy(tmp_path, destroying)
    assert refused.returncode == 1
    assert ("policy: refused: listener.https would be replaced (destroyed and created) "
            "(replace_because_cannot_update)") in refused.stderr
    assert _policy(tmp_path, destroying, "--allow-destroy").returncode == 0
    rule = next(c for c in destroying["resource_changes"] if c["type"] == "rule")
    rule["change"]["actions"] = ["delete"]
    listener["change"]["actions"] = ["create"]
    assert _policy(tmp_path, destroying).returncode == 0  # a rule is not protected


def test_the_policy_refuses_what_it_does_not_understand(tmp_path, created):
    newer = dict(created, format_version="2.0")
    result = _policy(tmp_path, newer)
    assert result.returncode == 1 and "has format_version 2.0; this check knows 1.x" \
        in result.stderr
    result = _policy(tmp_path, {"not": "a plan"})
    assert result.returncode == 1 and "is not an mtlsform plan JSON" in result.stderr
    assert "Traceback" not in result.stderr
