"""Benchmark: what one emulator write costs as the world grows, and the 10x10 engine test's time.

For worlds of 10, 100 and 500 HTTPS rules (one load balancer; 1 listener of 10 rules, 10 of 10,
10 of 50; 2 targets per rule; every listener MUTUAL with an uploaded server certificate and CA)
it measures, in process:

  commit     `with world.transaction()` changing one target's weight: what every committed change
             costs the thread that makes it (copy of the draft, commit, hand-over to persistence)
  durable    the same followed by `world.flush()` where it exists: until the file holds it
  api write  ModifyTargetWeight through the official SDK over HTTP (TC3 signature) until its task
             has finished (`emu.wait_for_tasks()`): two commits, as a CLB write makes
  snapshot   `world.snapshot()`
  file KiB   size of world.json

and, with --engine, the wall time of
`pytest -q tests/engine/test_refresh.py -k grow` (apply of 10 listeners x 10 rules x 2 targets,
about 340 writes, then a 10x1 stack, through the provider and the CLI), as pytest reports it,
as it is and with the emulator's rate limit switched off (see ENGINE_TEST below).

Listeners and rules are created through the API; targets are put in with one world transaction
(500 RegisterTargets calls would only slow the set-up).

Run: python bench/emulator_bench.py [--sizes 10,100,500] [--writes 60] [--engine] [--dir DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, EmulatorConfig
from mtlsform.emulator.world import Target

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {10: (1, 10), 100: (10, 10), 500: (10, 50)}  # rules -> (listeners, rules each)


def _pems() -> dict[str, str]:
    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Bench CA")).issuer_name(name("Bench CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("www.example.com")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(ca_key, hashes.SHA256()))
    return {"ca": ca.public_bytes(serialization.Encoding.PEM).decode(),
            "cert": leaf.public_bytes(serialization.Encoding.PEM).decode(),
            "key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()}


class Client:
    def __init__(self, emu: Emulator, service: str, version: str) -> None:
        cred = credential.Credential(DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY)
        profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=emu.endpoint))
        self._client = CommonClient(service, version, cred, "ap-guangzhou", profile)

    def __call__(self, action: str, **params: Any) -> dict[str, Any]:
        return self._client.call_json(action, params)["Response"]


def build(emu: Emulator, rules: int) -> tuple[str, str, str]:
    """Builds a world of `rules` rules; returns (lb, listener, location) of the rule to change."""
    listeners, per_listener = SHAPES[rules]
    clb, ssl = Client(emu, "clb", "2018-03-17"), Client(emu, "ssl", "2019-12-05")
    pems = _pems()
    cert = ssl("UploadCertificate", CertificatePublicKey=pems["cert"],
               CertificatePrivateKey=pems["key"])["CertificateId"]
    ca = ssl("UploadCertificate", CertificatePublicKey=pems["ca"],
             CertificateType="CA")["CertificateId"]
    lb = clb("CreateLoadBalancer", LoadBalancerType="OPEN")["LoadBalancerIds"][0]
    emu.wait_for_tasks()
    for index in range(listeners):
        lst = clb("CreateListener", LoadBalancerId=lb, Ports=[1000 + index], Protocol="HTTPS",
                  Certificate={"SSLMode": "MUTUAL", "CertId": cert, "CertCaId": ca}
                  )["ListenerIds"][0]
        emu.wait_for_tasks()
        clb("CreateRule", LoadBalancerId=lb, ListenerId=lst,
            Rules=[{"Domain": f"host{r}.example.com", "Url": "/"} for r in range(per_listener)])
        emu.wait_for_tasks()
    with emu.world.transaction() as state:
        for lst_obj in state.load_balancers[lb].listeners.values():
            for rule in lst_obj.rules.values():
                rule.targets = [Target("CVM", f"ins-rs{n}", f"127.32.0.{n}", 80)
                                for n in (1, 2)]
    last = list(emu.world.snapshot().load_balancers[lb].listeners.values())[-1]
    return lb, last.listener_id, list(last.rules)[-1]


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(rules: int, writes: int, directory: Path) -> dict[str, float]:
    config = EmulatorConfig(data_dir=directory / f"world-{rules}", task_delay=0.0,
                            rate_limit=None)
    with Emulator(config) as emu:
        lb, lst, loc = build(emu, rules)
        world = emu.world
        flush = getattr(world, "flush", None)
        results: dict[str, float] = {"rules": rules}

        def change(weight: int) -> None:
            with world.transaction() as state:
                state.load_balancers[lb].listeners[lst].rules[loc].targets[0].weight = weight

        for label, durable in (("commit", False), ("durable", True)):
            samples = []
            for i in range(writes):
                start = time.perf_counter()
                change(i % 100)
                if durable and flush is not None:
                    flush()
                samples.append(time.perf_counter() - start)
            if flush is not None:
                flush()
            results[label] = _median_ms(samples)
        clb = Client(emu, "clb", "2018-03-17")
        samples = []
        for i in range(writes):
            start = time.perf_counter()
            clb("ModifyTargetWeight", LoadBalancerId=lb, ListenerId=lst, LocationId=loc,
                Targets=[{"InstanceId": "ins-rs1", "Port": 80, "Weight": i % 100}])
            emu.wait_for_tasks()
            samples.append(time.perf_counter() - start)
        results["api write"] = _median_ms(samples)
        samples = []
        for _ in range(max(5, writes // 4)):
            start = time.perf_counter()
            world.snapshot()
            samples.append(time.perf_counter() - start)
        results["snapshot"] = _median_ms(samples)
    results["file KiB"] = (config.data_dir / "world.json").stat().st_size / 1024
    return results


ENGINE_TEST = ["-q", "-p", "no:cacheprovider", "tests/engine/test_refresh.py", "-k", "grow",
               "--durations=1"]
# The test runs with the emulator's default rate limit (20 calls per second per action, as the
# cloud): its ~340 DescribeTaskStatus polls alone then need 17 s. Without it, the time left is
# the engine's and the emulator's own.
UNLIMITED = ("import sys, pytest; from mtlsform.emulator import faults; "
             "faults.RateLimiter.admit = lambda self, action: None; "
             "sys.exit(pytest.main(sys.argv[1:]))")


def engine_seconds(unlimited: bool = False) -> float:
    """Wall time of the 10x10 engine test, as pytest's --durations reports its call phase."""
    command = ([sys.executable, "-c", UNLIMITED] if unlimited
               else [sys.executable, "-m", "pytest"])
    done = subprocess.run([*command, *ENGINE_TEST], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    found = re.search(r"([\d.]+)s call\s+\S+test_no_op_plan_calls_do_not_grow", done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the engine test failed:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} x {cpu}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; load {load:.2f} at start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--writes", type=int, default=60)
    parser.add_argument("--engine", action="store_true", help="also time the 10x10 engine test")
    parser.add_argument("--engine-runs", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="where the worlds are written")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    print(machine())
    columns = ("commit", "durable", "api write", "snapshot", "file KiB")
    print("| rules | " + " | ".join(f"{c} ms" if c != "file KiB" else c for c in columns) + " |")
    print("|---:|" + "---:|" * len(columns))
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(size, args.writes, Path(scratch))
            rows.append(row)
            print(f"| {size} | " + " | ".join(f"{row[c]:.2f}" if c != "file KiB"
                                              else f"{row[c]:.0f}" for c in columns) + " |",
                  flush=True)
    result: dict[str, Any] = {"sizes": rows}
    if args.engine:
        for label, unlimited in (("engine", False), ("engine, no rate limit", True)):
            times = [engine_seconds(unlimited) for _ in range(args.engine_runs)]
            result[label] = times
            print(f"{label} (10x10 apply + 10x1): {', '.join(f'{t:.2f} s' for t in times)}",
                  flush=True)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
