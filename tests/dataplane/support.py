"""Helpers for data-plane tests: a small site, TLS clients (Python and curl), waiting."""

from __future__ import annotations

import http.client
import itertools
import os
import random
import shutil
import socket
import ssl
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtlsform.emulator.dataplane import (
    DataPlaneConfig,
    HealthCheckConfig,
    InstanceConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    TlsPolicy,
)
from tests.dataplane.pki import Issued

DOMAIN = "www.example.com"
SUBNET = random.Random(os.getpid()).randint(1, 250)
_HOSTS = itertools.count(1)


def new_address(block: int) -> str:
    """A loopback address no other test uses (blocks: 90 VIPs, 91 instances)."""
    n = next(_HOSTS)
    return f"127.{block + 2 * (n // 250)}.{SUBNET}.{n % 250 + 1}"


@dataclass(frozen=True)
class Pki:
    ca: Issued
    other_ca: Issued
    server: Issued
    client: Issued
    other_client: Issued
    expired: Issued
    server_only: Issued
    folder: Path

    def files(self, name: str) -> tuple[Path, Path]:
        return (self.folder / f"{name}.crt", self.folder / f"{name}.key")

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"


@dataclass
class Site:
    """A one-listener, one-rule world: VIP, domain, two demo instances."""

    vip: str
    rs1: InstanceConfig
    rs2: InstanceConfig

    def config(self, tls: TlsPolicy | None, *, weights: tuple[int, int] = (10, 10),
               scheduler: str = "WRR", check: HealthCheckConfig | None = None,
               session_expire_time: int = 0, forward_type: str = "HTTP",
               extra_routes: tuple[RouteConfig, ...] = (), sni: bool = False,
               protocol: str = "HTTPS") -> DataPlaneConfig:
        route = RouteConfig(
            "loc-main", (DOMAIN,), "/", scheduler=scheduler, forward_type=forward_type,
            session_expire_time=session_expire_time,
            health_check=check or HealthCheckConfig(enabled=False),
            targets=self.targets(weights), tls=tls if sni else None)
        listener = ListenerConfig("lbl-main", "lb-main", self.vip, 443, protocol=protocol,
                                  sni=sni, tls=None if sni else tls,
                                  routes=(route, *extra_routes))
        return DataPlaneConfig(listeners=(listener,), instances=(self.rs1, self.rs2))

    def targets(self, weights: tuple[int, int]) -> tuple[TargetConfig, ...]:
        return (TargetConfig(self.rs1.instance_id, self.rs1.address, 80, weights[0]),
                TargetConfig(self.rs2.instance_id, self.rs2.address, 80, weights[1]))


class _SniConnection(http.client.HTTPSConnection):
    """Connects to an address but sends `server_name` as SNI and Host."""

    def __init__(self, address: str, port: int, server_name: str, context: ssl.SSLContext):
        super().__init__(server_name, port, context=context, timeout=10)
        self._address = address
        self._server_name = server_name
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), timeout=10)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._server_name)


def client_context(ca_pem: str, cert_files: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem)
    if cert_files is not None:
        context.load_cert_chain(*cert_files)
    return context


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def backend(self) -> str:
        return self.headers.get("x-backend-name", "")


def sni_connection(address: str, port: int, *, context: ssl.SSLContext,
                   host: str = DOMAIN) -> http.client.HTTPSConnection:
    """A keep-alive connection to `address` that sends `host` as SNI and Host."""
    return _SniConnection(address, port, host, context)


def https_request(address: str, port: int, *, context: ssl.SSLContext | None = None,
                  host: str = DOMAIN, path: str = "/", method: str = "GET",
                  headers: dict[str, str] | None = None, body=None, chunked: bool = False,
                  connection: http.client.HTTPSConnection | None = None) -> Reply:
    """One request over a new (or the given) connection; raises ssl.SSLError when refused."""
    if connection is None:
        assert context is not None
    conn = connection or _SniConnection(address, port, host, context)
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        data = response.read().decode()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        if connection is None:
            conn.close()


CURL = shutil.which("curl")


def curl(url_host: str, address: str, port: int, *, ca_file: Path,
         cert_files: tuple[Path, Path] | None = None, path: str = "/",
         extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """The real curl binary, resolving the host name to the VIP as the walk-through does."""
    assert CURL, "curl is required (apt-get install curl)"
    args = [CURL, "-sS", "--max-time", "10", "--cacert", str(ca_file),
            "--resolve", f"{url_host}:{port}:{address}"]
    if cert_files is not None:
        args += ["--cert", str(cert_files[0]), "--key", str(cert_files[1])]
    args += [*extra, f"https://{url_host}:{port}{path}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


def eventually(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Waits until predicate() is true (polling); fails the test if it never becomes true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def count_backends(replies: list[Reply]) -> Counter:
    return Counter(reply.backend for reply in replies)


class Blackhole:
    """A backend that accepts connections and never answers (a hung server): the system
    completes each TCP handshake, the test accepts them, nobody ever reads or writes."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.address, self.port = self.sock.getsockname()[:2]
        self.connections: list[socket.socket] = []

    def accept_pending(self) -> int:
        """Accepts whatever connected since; returns how many were accepted in all."""
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return len(self.connections)
            self.connections.append(conn)

    def closed_by_peer(self) -> int:
        """How many accepted connections the other side has closed or reset (reads what
        they sent, then waits at most 5 s for the end of each)."""
        ended = 0
        for conn in self.connections:
            conn.settimeout(5)
            try:
                while conn.recv(65536):
                    pass
                ended += 1
            except ConnectionResetError:
                ended += 1
            except TimeoutError:
                pass
        return ended

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.sock.close()
