"""Fixtures for end-to-end tests: a copy of the example stacks, the installed `mtlsform`, the real
`curl`, and `mtlsform emulator serve --data-plane` subprocesses that are always stopped."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
P12_PASSWORD = "e2e-p12-password"


def mtlsform_command() -> list[str]:
    """The installed console script (beside this Python), else `python -m mtlsform`."""
    script = Path(sys.executable).with_name("mtlsform")
    if script.exists():
        return [str(script)]
    found = shutil.which("mtlsform")
    return [found] if found else [sys.executable, "-m", "mtlsform"]


@pytest.fixture(scope="session")
def curl() -> str:
    found = shutil.which("curl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("curl is required by the end-to-end tests (apt-get install curl)")
        pytest.skip("curl is not installed")
    return found


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of this process and of the subprocesses: no colour, a PKCS#12 password."""
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", P12_PASSWORD)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MTLSFORM_STATE_PASSPHRASE", raising=False)
    return dict(os.environ)


@pytest.fixture
def stacks(tmp_path: Path, environ: dict[str, str]) -> Path:
    """A private copy of stacks/ (each test gets its own emulator world)."""
    target = tmp_path / "stacks"
    shutil.copytree(REPO / "stacks", target, ignore=shutil.ignore_patterns(".mtlsform", "out"))
    return target


def mtlsform(args: list[str], environ: dict[str, str], cwd: Path,
             timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs the installed `mtlsform` as a real subprocess."""
    return subprocess.run([*mtlsform_command(), *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=timeout, check=False)


def bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_offset(binds: list[tuple[str, int]]) -> int:
    """A port offset at which every (address, port + offset) can be bound now."""
    for offset in range(20000 + os.getpid() % 97 * 100, 60000, 1009):
        if all(bindable(host, port + offset) for host, port in binds):
            return offset
    raise RuntimeError("no free port offset")


@dataclass
class Served:
    """A running `mtlsform emulator serve --data-plane` subprocess."""

    process: subprocess.Popen
    port_offset: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def serve(tmp_path: Path, environ: dict[str, str]) -> Iterator[Callable[..., Served]]:
    """Starts `mtlsform emulator serve --data-plane` on a world and waits until `wait_for`
    (address, port) accepts connections; every one started is stopped after the test."""
    started: list[Served] = []

    def start(data_dir: Path, port_offset: int, wait_for: tuple[str, int]) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                [*mtlsform_command(), "emulator", "serve", "--data-plane", "--port", "0",
                 "--port-offset", str(port_offset), "--data-dir", str(data_dir)],
                env=environ, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path)
        served = Served(process, port_offset, log)
        started.append(served)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"emulator serve exited {process.returncode}:\n{served.log_text()}")
            try:
                with socket.create_connection(wait_for, timeout=0.5):
                    return served
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"emulator serve did not listen on {wait_for}:\n{served.log_text()}")

    yield start
    for served in started:
        served.stop()


@dataclass(frozen=True)
class CurlResult:
    returncode: int
    status: int | None  # HTTP status, None when there was no answer
    body: str
    stderr: str

    @property
    def first_line(self) -> str:
        return self.body.splitlines()[0] if self.body else ""


def run_curl(curl: str, domain: str, vip: str, port: int, *, ca: Path,
             cert: tuple[Path, Path] | None) -> CurlResult:
    """`curl [--cert C --key K] --cacert CA --resolve DOMAIN:PORT:VIP https://DOMAIN:PORT/`."""
    args = [curl, "-sS", "--max-time", "10", "--write-out", "\n%{http_code}", "--cacert",
            str(ca), "--resolve", f"{domain}:{port}:{vip}", f"https://{domain}:{port}/"]
    if cert is not None:
        args[1:1] = ["--cert", str(cert[0]), "--key", str(cert[1])]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    body, _, code = done.stdout.rpartition("\n")
    status = int(code) if code.isdigit() and code != "000" else None
    return CurlResult(done.returncode, status, body, done.stderr)
