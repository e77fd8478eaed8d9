"""The CLI with a `backend: {kind: cos}` stack against a real S3-compatible server: 8
concurrent applies on one state, a holder killed with -9 (its stale lock shown, then cleared
with force-unlock), and history and rollback over the bucket's object versions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mtlsform.state.cos import CosStateStore
from tests.backends.s3server import KEYS, REGION, credentials
from tests.backends.test_cos_store import hold_lock

SMALL = """\
version: 1
stack: small
backend: {{kind: cos, bucket: {bucket}, region: {region}, endpoint: "{endpoint}"}}
variables: {{n: "0"}}
certificates:
  ca:
    type: ca
    subject: {{common_name: Small CA}}
    key: ecdsa-p256
outputs:
  n: ${{var.n}}
"""


def small_stack(workdir: Path, s3, bucket: str) -> Path:
    path = workdir / "small.yaml"
    path.write_text(SMALL.format(bucket=bucket, region=REGION, endpoint=s3.endpoint))
    return path


def run(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mtlsform", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def writes(s3, bucket: str) -> list[tuple[int, str]]:
    """(serial, written by) of every version of the state object, oldest first."""
    store = CosStateStore(bucket=bucket, stack="small", region=REGION, endpoint=s3.endpoint,
                          credentials=credentials())
    return [(e.serial, e.written_by) for e in reversed(store.history())]


def test_eight_concurrent_applies_and_a_stale_lock_after_kill_9(workdir, s3):
    bucket = s3.bucket()
    stack = small_stack(workdir, s3, bucket)
    env = {**os.environ, **KEYS, "GITHUB_RUN_ID": "777"}
    first = run(workdir, env, "apply", str(stack), "--auto-approve")
    assert first.returncode == 0, first.stderr
    assert not (workdir / ".mtlsform/small.state.json").exists()  # no local state
    before = writes(s3, bucket)

    # A holder keeps the lock: all 8 fail at once, each naming it; none writes.
    holder, lock_id = hold_lock(s3, bucket, stack="small")
    try:
        with ThreadPoolExecutor(8) as pool:
            refused = list(pool.map(lambda i: run(workdir, env, "apply", str(stack),
                                                  "--auto-approve", "--var", f"n={i}"),
                                    range(8)))
        assert holder.poll() is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    for result in refused:
        assert result.returncode == 1, result.stderr
        assert f"lock ID {lock_id}" in result.stderr and "'apply'" in result.stderr
        assert "Traceback" not in result.stderr
    assert writes(s3, bucket) == before

    # Killed with -9, the holder left its lock object: the next run shows it as it was.
    stale = run(workdir, env, "plan", str(stack))
    assert stale.returncode == 1 and f"pid {holder.pid}" in stale.stderr
    assert f"force-unlock {lock_id}" in stale.stderr
    unlocked = run(workdir, env, "force-unlock", lock_id, str(stack), "--force")
    assert unlocked.returncode == 0, unlocked.stderr
    assert f"pid {holder.pid}" in unlocked.stdout and "Unlocked" in unlocked.stdout

    # 8 applies that wait take the lock one after another: each one's writes are
    # contiguous, and serials only increase.
    with ThreadPoolExecutor(8) as pool:
        waited = list(pool.map(lambda i: run(workdir, env, "apply", str(stack),
                                             "--auto-approve", "--var", f"n={i + 1}",
                                             "--lock-timeout", "300"), range(8)))
    for result in waited:
        assert result.returncode == 0, result.stderr
    after = writes(s3, bucket)[len(before):]
    serials = [serial for serial, _ in after]
    assert serials == sorted(serials) and len(set(serials)) == len(serials) >= 8
    writers = [by for _, by in after]
    runs = [by for i, by in enumerate(writers) if i == 0 or writers[i - 1] != by]
    assert len(runs) == len(set(runs)) == 8
    for secret in KEYS.values():
        assert all(secret not in r.stdout + r.stderr for r in [first, *refused, *waited])


def test_history_and_rollback_over_object_versions(workdir, cli, s3, monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    bucket = s3.bucket()
    stack = small_stack(workdir, s3, bucket)
    assert cli("apply", stack, "--auto-approve").code == 0
    assert cli("apply", stack, "--auto-approve", "--var", "n=5").code == 0
    shown = cli("state", "history", stack)
    assert shown.code == 0, shown.text
    serials = [serial for serial, _ in writes(s3, bucket)]
    assert f"* serial {serials[-1]} " in shown.out and f"  serial {serials[0]} " in shown.out
    rolled = cli("state", "rollback", stack, str(serials[-2]))
    assert rolled.code == 0, rolled.text
    pulled = run(workdir, dict(os.environ), "state", "pull", str(stack))
    back = json.loads(pulled.stdout)
    assert (back["serial"], back["outputs"]["n"]["value"]) == (serials[-1] + 1, "0")
    assert cli("plan", stack, "--var", "n=0", "--detailed-exitcode").code == 0
