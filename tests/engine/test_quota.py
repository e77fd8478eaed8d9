"""A quota the cloud refuses stops the operations of that kind: a stack with more listeners on
one load balancer than its quota allows tries CreateListener at most quota + parallelism times,
while the other load balancer's listeners are all created."""

from __future__ import annotations

from pathlib import Path

from mtlsform.emulator import Emulator, EmulatorConfig
from mtlsform.emulator.clb_listeners import LISTENER_QUOTA

PARALLELISM = 2
CROWDED = LISTENER_QUOTA + 30  # listeners asked of the crowded load balancer
ROOMY = 3  # listeners on another load balancer: independent work that must finish


def _stack(path: Path) -> Path:
    lines = ["version: 1", "stack: quota", "provider: {kind: emulator, region: ap-guangzhou}",
             "load_balancers:", "  crowded: {name: crowded-clb, network: public}",
             "  roomy: {name: roomy-clb, network: public}", "listeners:"]
    for i in range(CROWDED):
        lines.append(f"  c{i:03d}: {{load_balancer: crowded, protocol: HTTP, port: {8000 + i}}}")
    for i in range(ROOMY):
        lines.append(f"  r{i:03d}: {{load_balancer: roomy, protocol: HTTP, port: {9000 + i}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_refused_quota_stops_starting_operations_of_that_kind(workdir, cli):
    stack = _stack(workdir / "stacks/quota.yaml")
    world = workdir / "stacks/.mtlsform/emulator"
    with Emulator(EmulatorConfig(data_dir=world, task_delay=0.01)) as served:
        served.announce(serve=True)
        applied = cli("apply", stack, "--auto-approve", "--parallelism", str(PARALLELISM))
        stats = served.stats()
        errors = stats["errors"]["CreateListener"]
        # The emulator throttles bursts; a throttled call is retried, it is not an attempt.
        attempts = stats["calls"]["CreateListener"] - errors.get("RequestLimitExceeded", 0)
        refused = errors["LimitExceeded"]
        listeners = {lb.name: len(lb.listeners)
                     for lb in served.world.snapshot().load_balancers.values()}
    assert applied.code == 1, applied.text
    assert "Traceback" not in applied.text
    assert attempts <= LISTENER_QUOTA + ROOMY + PARALLELISM, attempts
    assert 1 <= refused <= PARALLELISM
    assert listeners == {"crowded-clb": LISTENER_QUOTA, "roomy-clb": ROOMY}
    not_started = CROWDED - LISTENER_QUOTA - refused
    assert ("not started: the cloud refused CreateListener for quota: "
            "LoadBalancer(") in applied.text
    # Listed once, as a count with the first few, not one line each.
    shown = ", ".join(f"listener.c{i:03d}" for i in range(CROWDED - not_started, CROWDED)[:3])
    assert f"{not_started} operations: {shown} and {not_started - 3} more" in applied.text
    assert applied.text.count("  not started:") == 1
    assert applied.text.count("the cloud refused CreateListener for quota") == 1
