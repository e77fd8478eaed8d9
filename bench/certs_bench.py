"""Benchmark: time to generate the walk-through certificate set (CA + server + client) per key type.

Each repetition generates a fresh CA, a server certificate and a client certificate signed by it,
all of the same key type, through `mtlsform.pki.generate.generate_certificate` (the code apply
runs). It also times writing the client's PKCS#12 files in both forms. Prints a Markdown
section (machine, command, figures, ratios vs rsa-2048) for bench/RESULTS.md.

    python bench/certs_bench.py [--reps N] [--p12-reps N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cryptography

from mtlsform.pki.export import export_client_files
from mtlsform.pki.generate import generate_certificate
from mtlsform.pki.keys import KEY_TYPES
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Certificate, Subject


def walkthrough_set(key_type: str) -> None:
    ca = generate_certificate(Certificate(name="ca", type="ca", subject=Subject("Bench Root CA"),
                                          key=key_type, validity_days=3650), None)
    generate_certificate(Certificate(name="server", type="server", issuer="ca", key=key_type,
                                     subject=Subject("www.example.com"),
                                     dns_names=("www.example.com",)), ca)
    generate_certificate(Certificate(name="client", type="client", issuer="ca", key=key_type,
                                     subject=Subject("client-1")), ca)


def timed(action: Callable[[], None], reps: int) -> list[float]:
    """Wall-clock seconds of each repetition (one warm-up run first, not counted)."""
    action()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} logical cores; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; cryptography "
            f"{cryptography.__version__} (OpenSSL {_openssl_version()})")


def _openssl_version() -> str:
    from cryptography.hazmat.backends.openssl.backend import backend
    return backend.openssl_version_text().removeprefix("OpenSSL ")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="sets per key type (default 10)")
    parser.add_argument("--p12-reps", type=int, default=5, help="exports per form (default 5)")
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    rows = {kt: timed(lambda kt=kt: walkthrough_set(kt), args.reps) for kt in KEY_TYPES}
    base = statistics.median(rows["rsa-2048"])

    ca = generate_certificate(Certificate(name="ca", type="ca", subject=Subject("Bench CA"),
                                          key="ecdsa-p256"), None)
    client = generate_certificate(Certificate(name="client", type="client", issuer="ca",
                                              key="ecdsa-p256", subject=Subject("client-1")), ca)
    p12_rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, modern, legacy in (("PEM only (crt, key, ca.crt)", False, False),
                                      ("+ NAME.p12 (AES-256, 200k PBKDF2 rounds)", True, False),
                                      ("+ NAME-legacy.p12 (3DES/SHA-1, 50k rounds)", False, True)):
            p12_rows[label] = timed(lambda m=modern, lg=legacy: export_client_files(
                client, ca, Path(tmp), "client", pkcs12=m, legacy_pkcs12=lg,
                password=Sensitive("bench")), args.p12_reps)

    load_end = os.getloadavg()[0]
    command = "python bench/certs_bench.py " + " ".join(sys.argv[1:])
    print("## Certificates: generating the walk-through set\n")
    print(f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"- Machine: {machine()}")
    print(f"- Command: `{command.strip()}` (from the repository root, venv active)")
    print(f"- 1-minute load average at start / end: {load_start:.2f} / {load_end:.2f} (a shared "
          "machine; RSA key generation is a random prime search, so its spread is wide)")
    print(f"- What: CA + server + client certificate, all of the key type, generated with "
          f"`generate_certificate` (key generation, build, sign); {args.reps} repetitions per "
          "key type after one warm-up; wall-clock `time.perf_counter`.\n")
    print("| key type | median ms | min ms | max ms | median vs rsa-2048 |")
    print("|---|---:|---:|---:|---:|")
    for kt, times in rows.items():
        med = statistics.median(times)
        print(f"| {kt} | {ms(med)} | {ms(min(times))} | {ms(max(times))} | "
              f"{med / base:.3f}x |")
    print(f"\nClient export (ecdsa-p256 client; {args.p12_reps} repetitions):\n")
    print("| files written | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|")
    for label, times in p12_rows.items():
        print(f"| {label} | {ms(statistics.median(times))} | {ms(min(times))} | "
              f"{ms(max(times))} |")


if __name__ == "__main__":
    main()
