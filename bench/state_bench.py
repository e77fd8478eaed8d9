"""Benchmark: what one state write costs as the state grows (decides: journal or full writes).

The executor saves the state after every operation and records an intent before every cloud
call, so an apply of N resources writes the file about 2N times. This measures, for states of
n resources shaped like real stacks (a few certificates with PEMs and a sealed key, many small
listener/rule/target records):

  encode-all   encoding every resource from scratch (what a write costs without the cache)
  encode-1     encoding with one resource changed (the cache at work; part of `write`)
  write        LocalStateStore.write with one resource changed: encode + temp file + fsync +
               rename + directory fsync (what the executor pays per save)
  write+enc    the same with MTLSFORM_STATE_PASSPHRASE (one new sealed value per write)
  no-op        a write of an unchanged state (compared, not written)
  append       appending one operation record (~300 bytes) to a file + fsync: the floor a
               journal entry would cost, for comparison
  read         decoding the file (once per run)

Run: python bench/state_bench.py [--sizes 10,100,1000,2000] [--writes 40] [--dir DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mtlsform.sensitive import Sensitive
from mtlsform.state import LocalStateStore, ResourceState, State, read_state
from mtlsform.state.statefile import StateEncoder

PASSPHRASE = Sensitive("bench passphrase")


def _pem(label: str, size: int, seed: int) -> str:
    body = base64.b64encode(seed.to_bytes(4, "big") * (size // 4)).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def build_state(n: int) -> State:
    """n resources: 1 in 20 a certificate (cert PEM + sensitive key), the rest CLB objects."""
    resources = [ResourceState("load_balancer.web", {"id": "lb-0a1b2c3d", "vip": "10.0.0.1",
                                                     "name": "bench", "network": "public"})]
    for i in range(n - 1):
        if i % 20 == 0:
            resources.append(ResourceState(f"certificate.c{i}", {
                "type": "server", "common_name": f"host{i}.example.com",
                "certificate_pem": _pem("CERTIFICATE", 900, i),
                "private_key_pem": Sensitive(_pem("PRIVATE KEY", 1200, i)),
                "not_after": "2030-01-01T00:00:00Z", "fingerprint": f"{i:064x}"}))
        elif i % 20 == 1:
            resources.append(ResourceState(f"listener.l{i}", {
                "id": f"lbl-{i:08x}", "port": 1000 + i, "protocol": "HTTPS", "sni": False,
                "tls": {"mode": "mutual", "certificate_id": f"cert-{i}", "ca_id": "cert-ca"}},
                ["load_balancer.web"]))
        elif i % 2:
            resources.append(ResourceState(f'rule.l1["host{i}.example.com/"]', {
                "id": f"loc-{i:08x}", "domain": f"host{i}.example.com", "url": "/",
                "scheduler": "WRR", "backend_protocol": "HTTP", "session_persistence": 0,
                "health_check": {"path": "/healthz", "interval": 5, "timeout": 2,
                                 "healthy_threshold": 3, "unhealthy_threshold": 3,
                                 "http_codes": ["2xx", "3xx"]}}, ["listener.l1"]))
        else:
            resources.append(ResourceState(f'target.l1["host{i - 1}.example.com/"].rs-{i}', {
                "instance": f"ins-{i:08x}", "port": 80, "weight": 10, "private_ip": "10.0.1.2"},
                [f'rule.l1["host{i - 1}.example.com/"]']))
    return State("bench", "00000000-0000-4000-8000-000000000000", resources=tuple(resources))


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _append_ms(path: Path, writes: int) -> float:
    record = (json.dumps({
        "op_id": "0" * 32, "action": "create", "address": 'target.l1["h.example.com/"].rs-1',
        "started_at": "2025-01-01T00:00:00.000Z",
        "attributes": {"instance": "ins-00000000", "port": 80, "weight": 10,
                       "private_ip": "10.0.1.2", "id": "rs-0000"}}) + "\n").encode()
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(writes):
            start = time.perf_counter()
            os.write(fd, record)
            os.fsync(fd)
            samples.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return _median_ms(samples)


def measure(n: int, writes: int, directory: Path) -> dict[str, float]:
    state = build_state(n)
    size = len(StateEncoder().encode(state))
    encode_all = []
    for _ in range(max(3, writes // 8)):
        start = time.perf_counter()
        StateEncoder().encode(state)
        encode_all.append(time.perf_counter() - start)
    results = {"n": n, "kib": size / 1024, "encode-all": _median_ms(encode_all)}
    encoder, current, encode_one = StateEncoder(), state, []
    encoder.encode(state)
    for i in range(writes):
        current = current.with_resource(ResourceState("certificate.new", {"serial": i}))
        start = time.perf_counter()
        encoder.encode(current)
        encode_one.append(time.perf_counter() - start)
    results["encode-1"] = _median_ms(encode_one)
    results["append"] = _append_ms(directory / f"journal-{n}", writes)
    for label, passphrase in (("write", None), ("write+enc", PASSPHRASE)):
        path = directory / f"{label}-{n}" / "bench.state.json"
        with LocalStateStore(path, passphrase=passphrase) as store:
            current = store.write(state)
            samples = []
            for i in range(writes):
                changed = current.with_resource(ResourceState(
                    "certificate.new", {"serial": i, "private_key_pem": Sensitive(f"k{i}")}))
                start = time.perf_counter()
                current = store.write(changed)
                samples.append(time.perf_counter() - start)
            results[label] = _median_ms(samples)
            if label == "write":
                noop = []
                for _ in range(writes):
                    start = time.perf_counter()
                    store.write(current)
                    noop.append(time.perf_counter() - start)
                results["no-op"] = _median_ms(noop)
        if label == "write":
            start = time.perf_counter()
            read_state(path)
            results["read"] = (time.perf_counter() - start) * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,500,1000,2000")
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to write (default: a temporary directory)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = [measure(n, args.writes, Path(tmp)) for n in sizes]
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, {sys.platform}; median of {args.writes} writes, ms")
    columns = ["n", "kib", "encode-all", "encode-1", "write", "write+enc", "no-op", "append",
               "read"]
    print("| " + " | ".join(["resources", "file KiB", *columns[2:]]) + " |")
    print("|" + "---:|" * len(columns))
    for row in rows:
        cells = [f"{row['n']}", f"{row['kib']:.0f}"] + [f"{row[c]:.2f}" for c in columns[2:]]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
