"""Benchmark: full mTLS handshakes per second and server CPU per handshake, data plane vs nginx.

All servers get the same certificates (ECDSA P-256 CA, server and client certificates made
here), listen on loopback, require a client certificate signed by the CA, and run as one
process each: the data plane (`DataPlane` in a child Python process, default asyncio loop),
nginx (`master_process off`, one worker), and for reference a bare asyncio TLS server
(`start_server(ssl=...)`, the floor any Python server pays). For each round and server,
`--clients` concurrent `openssl s_time -new` processes make full handshakes (no session reuse)
for `--seconds`; the figures are the handshakes s_time reports and the server process's CPU
time (utime + stime from /proc/<pid>/stat) over the same interval. Prints a Markdown section for
bench/RESULTS.md.

    python bench/dataplane_bench.py [--seconds 8] [--rounds 2] [--clients 2] [--nginx PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/server.crt;
        ssl_certificate_key {dir}/server.key;
        ssl_client_certificate {dir}/ca.crt;
        ssl_verify_client on;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


def make_certificates(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def save(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        (folder / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path = folder / f"{stem}.key"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Bench CA")).issuer_name(name("Bench CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    save("ca", ca, ca_key)
    for stem, usage, dns in (("server", ExtendedKeyUsageOID.SERVER_AUTH, "www.example.com"),
                             ("client", ExtendedKeyUsageOID.CLIENT_AUTH, None)):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(dns or "bench-client"))
                   .issuer_name(ca.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30))
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca_key.public_key()), critical=False))
        if dns:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]),
                                            critical=False)
        save(stem, builder.sign(ca_key, hashes.SHA256()), key)


def serve_dataplane(folder: Path, port: int) -> None:
    """Child process: the data plane with one mutual-TLS listener on 127.0.0.1:port."""
    from mtlsform.emulator.dataplane import (
        DataPlane,
        DataPlaneConfig,
        HealthCheckConfig,
        InstanceConfig,
        ListenerConfig,
        RouteConfig,
        TargetConfig,
        TlsPolicy,
    )
    from mtlsform.sensitive import Sensitive

    tls = TlsPolicy((folder / "server.crt").read_text(),
                    Sensitive((folder / "server.key").read_text()), mode="MUTUAL",
                    client_ca_pem=(folder / "ca.crt").read_text())
    route = RouteConfig("loc-bench", ("www.example.com",), "/",
                        health_check=HealthCheckConfig(enabled=False),
                        targets=(TargetConfig("ins-bench", "127.0.0.3", port + 1),))
    config = DataPlaneConfig(
        listeners=(ListenerConfig("lbl-bench", "lb-bench", "127.0.0.1", port, tls=tls,
                                  routes=(route,)),),
        instances=(InstanceConfig("ins-bench", "bench", "127.0.0.3"),))
    with DataPlane(config):
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def serve_asyncio(folder: Path, port: int) -> None:
    """Child process: the floor for Python, a bare asyncio TLS server with the same settings."""
    import asyncio

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.crt", folder / "server.key")
    context.load_verify_locations(folder / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        writer.close()

    async def run() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=context)
        print("ready", flush=True)
        async with server:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(run())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def check_mtls(folder: Path, port: int) -> None:
    """One real request with the client certificate, and one refused without it."""
    good = ssl.create_default_context(cafile=str(folder / "ca.crt"))
    good.load_cert_chain(folder / "client.crt", folder / "client.key")
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            good.wrap_socket(raw, server_hostname="www.example.com") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
        assert tls.recv(64).startswith(b"HTTP/1.1 200"), "no 200 with the client certificate"
    anonymous = ssl.create_default_context(cafile=str(folder / "ca.crt"))
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw, \
                anonymous.wrap_socket(raw, server_hostname="www.example.com") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
            data = tls.recv(64)
    except (ssl.SSLError, ConnectionError):
        return
    # nginx completes the handshake and answers 400 "No required SSL certificate was sent";
    # a bare asyncio server closes without sending its alert (b"").
    assert not data.startswith(b"HTTP/1.1 200"), "accepted without a client certificate"


@dataclass
class Sample:
    handshakes: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.handshakes / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.handshakes * 1e6


def measure(folder: Path, port: int, pid: int, seconds: int, clients: int) -> Sample:
    command = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new",
               "-cert", str(folder / "client.crt"), "-key", str(folder / "client.key"),
               "-CAfile", str(folder / "ca.crt"), "-time", str(seconds)]
    cpu_before, start = cpu_seconds(pid), time.monotonic()
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for _ in range(clients)]
    outputs = [run.communicate()[0] for run in runs]
    elapsed, cpu = time.monotonic() - start, cpu_seconds(pid) - cpu_before
    total = 0
    for output in outputs:
        found = re.search(r"(\d+) connections in [\d.]+s", output)
        if not found:
            raise RuntimeError(f"unexpected s_time output:\n{output}")
        total += int(found.group(1))
    return Sample(total, elapsed, cpu)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} vCPU {model} (shared, load {load:.1f} at start), "
            f"{platform.system()} {platform.release()} {platform.machine()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "DIR", "PORT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve = serve_dataplane if args.serve[0] == "dataplane" else serve_asyncio
        serve(Path(args.serve[1]), int(args.serve[2]))
        return 0
    started = machine()
    with tempfile.TemporaryDirectory(prefix="mtlsform-dp-bench-") as name:
        folder = Path(name)
        make_certificates(folder)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / sub).mkdir()
        ports = {name: free_port() for name in SERVERS}
        (folder / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, port=ports["nginx"]))
        processes = {
            name: subprocess.Popen([sys.executable, __file__, "--serve", name, str(folder),
                                    str(ports[name])],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for name in ("dataplane", "asyncio")}
        processes["nginx"] = subprocess.Popen(
            [args.nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"),
             "-e", str(folder / "nginx-error.log")], stdin=subprocess.PIPE)
        try:
            for name in ("dataplane", "asyncio"):
                stdout = processes[name].stdout
                assert stdout is not None and stdout.readline() == "ready\n"
            for name in SERVERS:
                wait_for_port(ports[name])
                check_mtls(folder, ports[name])
            samples: dict[str, list[Sample]] = {name: [] for name in SERVERS}
            for _ in range(args.rounds):  # alternate, so all see the same background load
                for name in SERVERS:
                    samples[name].append(measure(folder, ports[name], processes[name].pid,
                                                 args.seconds, args.clients))
        finally:
            for name in ("dataplane", "asyncio"):
                stdin = processes[name].stdin
                assert stdin is not None
                stdin.close()
                processes[name].wait(timeout=30)
            processes["nginx"].terminate()
            processes["nginx"].wait(timeout=30)
    print(report(samples, args, started))
    return 0


SERVERS = ("dataplane", "nginx", "asyncio")


def report(samples: dict[str, list[Sample]], args: argparse.Namespace, started: str) -> str:
    nginx_version = subprocess.run([args.nginx, "-v"], capture_output=True,
                                   text=True).stderr.strip().split("/")[-1]
    rows, medians = [], {}
    for server, runs in samples.items():
        rate = statistics.median(s.rate for s in runs)
        cpu_us = statistics.median(s.cpu_us for s in runs)
        medians[server] = (rate, cpu_us)
        label = {"dataplane": "mtlsform data plane",
                 "nginx": f"nginx {nginx_version} (1 worker)",
                 "asyncio": "bare asyncio TLS server (floor for Python)"}[server]
        per_round = ", ".join(f"{s.rate:.0f}/s {s.cpu_us:.0f} µs" for s in runs)
        rows.append(f"| {label} | {rate:.0f} | {cpu_us:.0f} | {per_round} |")
    rate_ratio = medians["nginx"][0] / medians["dataplane"][0]
    cpu_ratio = medians["dataplane"][1] / medians["nginx"][1]
    floor_ratio = medians["dataplane"][1] / medians["asyncio"][1]
    return "\n".join([
        "## Data plane",
        "",
        "Full mutual-TLS handshakes (TLS 1.3, ECDSA P-256 server, client and CA, client",
        "certificate required and verified, no session reuse) on loopback: the emulator's data",
        "plane beside nginx with the same certificates, and a bare asyncio TLS server, in one",
        "run.",
        "",
        f"- Machine: {started}; Python {platform.python_version()}, {ssl.OPENSSL_VERSION}.",
        f"- Date: {datetime.now(UTC).date().isoformat()}.",
        f"- Command: `python bench/dataplane_bench.py --seconds {args.seconds} "
        f"--rounds {args.rounds} --clients {args.clients}`",
        f"- Load: {args.clients} concurrent `openssl s_time -new` clients for {args.seconds} s "
        f"per round, {args.rounds} rounds alternating servers; median of rounds. CPU is the "
        "server process's utime+stime over the same interval, divided by the handshakes.",
        "",
        "| server | handshakes/s | server CPU µs/handshake | rounds |",
        "|---|---:|---:|---|",
        *rows,
        "",
        f"Ratios: nginx completes {rate_ratio:.2f}x the handshakes per second of the data "
        f"plane; the data plane spends {cpu_ratio:.2f}x nginx's CPU per handshake, and "
        f"{floor_ratio:.2f}x that of a bare asyncio TLS server (the cost of peeking at the SNI, "
        "its own TLS stream and the request loop).",
    ])


if __name__ == "__main__":
    sys.exit(main())
