"""`mtlsform verify` in-process on a small ECDSA stack applied to the embedded emulator."""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtlsform.cli.main import run
from mtlsform.emulator.dataplane import DataPlane

STACK = """\
version: 1
stack: quick
provider: {kind: emulator, region: ap-guangzhou}
certificates:
  ca: {type: ca, key: ecdsa-p256, subject: {common_name: Quick Root CA}}
  server: {type: server, issuer: ca, key: ecdsa-p256, subject: {common_name: www.example.com}}
  client: {type: client, issuer: ca, key: ecdsa-p256, subject: {common_name: client-1}}
load_balancers:
  web: {name: quick-clb}
backends:
  rs-1: {instance: ins-rs1, port: 80, weight: 10}
  rs-2: {instance: ins-rs2, port: 80, weight: 10}
listeners:
  https:
    load_balancer: web
    port: 443
    tls: {mode: mutual, certificate: server, client_ca: ca}
    rules:
      - domain: www.example.com
        backends: [rs-1, rs-2]
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MTLSFORM_STATE_PASSPHRASE", raising=False)
    path = tmp_path / "quick.yaml"
    path.write_text(STACK)
    return path


@pytest.fixture
def applied(stack: Path, capsys: pytest.CaptureFixture) -> Path:
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    capsys.readouterr()
    return stack


def state_of(stack: Path) -> dict:
    return json.loads((stack.parent / ".mtlsform" / "quick.state.json").read_text())


def attribute(stack: Path, address: str, name: str):
    for resource in state_of(stack)["resources"]:
        if resource["address"] == address:
            return resource["attributes"][name]
    raise KeyError(address)


def test_a_stack_that_was_not_applied_is_one_clear_error(stack, capsys):
    assert run(["verify", str(stack)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[0] == (
        f"error: {stack} has not been applied: there is no state at "
        f"{stack.parent / '.mtlsform' / 'quick.state.json'}")
    assert "Traceback" not in captured.err


def test_a_bad_address_is_refused(stack, capsys):
    assert run(["verify", str(stack), "--address", "localhost"]) == 1
    assert "error: --address 'localhost': expected HOST:PORT" in capsys.readouterr().err


def test_verify_passes_prints_a_table_and_never_a_key(applied, capsys):
    assert run(["verify", str(applied), "--requests", "10"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == ("Verifying stack quick: 10 requests per rule for the spread, exact "
                        "tolerance.")
    assert lines[3].split() == ["listener", "domain", "check", "result", "reason"]
    rows = [line for line in lines if line.startswith("https ")]
    assert [row.split()[2] for row in rows] == ["a", "b", "c", "c", "c", "d"]
    assert all("  pass  " in row for row in rows)
    assert "rs-1 5, rs-2 5 of 10" in out
    assert lines[-1] == "6 passed, 0 failed, 0 skipped: verify passed."
    assert "PRIVATE KEY" not in out


def test_json_output(applied, capsys):
    assert run(["verify", str(applied), "--requests", "4", "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["passed"] is True
    assert report["summary"] == {"pass": 6, "fail": 0, "skip": 0}
    assert [c["check"] for c in report["checks"]] == [
        "server-certificate", "request", "no-client-certificate", "unknown-ca",
        "expired-certificate", "balance"]
    server = attribute(applied, "certificate.server", "fingerprint")
    assert report["checks"][0]["details"]["presented"] == server
    assert "PRIVATE KEY" not in out


def test_weights_that_differ_from_the_deployment_fail_d(applied, capsys):
    # The stack now says 30:10, but 10:10 is deployed (not applied yet).
    applied.write_text(STACK.replace("rs-1: {instance: ins-rs1, port: 80, weight: 10}",
                                     "rs-1: {instance: ins-rs1, port: 80, weight: 30}"))
    assert run(["verify", str(applied)]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if " d spread " in line)
    assert "fail" in row
    assert ("rs-1 (weight 30) answered 10 of 20, expected 14-16; rs-2 (weight 10) answered 10 "
            "of 20, expected 4-6") in row
    assert out.splitlines()[-1] == "5 passed, 1 failed, 0 skipped: verify FAILED."


@pytest.fixture
def blocked_listener_port(applied: Path) -> Iterator[None]:
    """Something else listens on the listener's real address and port (443 on its VIP)."""
    vip = attribute(applied, "load_balancer.web", "vip")
    blocker = socket.socket()
    try:
        blocker.bind((vip, 443))
        blocker.listen()
    except PermissionError:
        pass  # not root: 443 cannot be bound anyway, which forces an offset just the same
    except OSError as exc:  # already bound (another test process's data plane): the same
        assert exc.errno == errno.EADDRINUSE, exc
    try:
        yield
    finally:
        blocker.close()


def test_an_offset_is_picked_when_the_real_port_cannot_be_bound(applied, blocked_listener_port,
                                                                capsys):
    assert run(["verify", str(applied), "--requests", "4"]) == 0
    heading = capsys.readouterr().out.splitlines()[1]
    assert heading.startswith("  https: 127.64.")
    assert "(embedded emulator's data plane, port offset " in heading
    port = int(heading.split()[1].rsplit(":", 1)[1])
    assert port != 443


def test_a_running_emulator_is_verified_through_address(applied, capsys):
    """While another emulator holds the world, verify says so; --address reaches its data
    plane instead (the running-emulator case)."""
    from mtlsform.emulator import Emulator, EmulatorConfig

    data_dir = applied.parent / ".mtlsform" / "emulator"
    vip = attribute(applied, "load_balancer.web", "vip")
    with Emulator(EmulatorConfig(data_dir=data_dir, port=0)) as emu, \
            DataPlane(emu.world, port_offset=_free_offset(vip)) as plane:
        assert run(["verify", str(applied)]) == 1
        err = capsys.readouterr().err
        assert f"error: the stack's emulator world ({data_dir}) is in use by another emulator" \
            in err
        endpoint = plane.endpoints()[0]
        address = f"{endpoint.host}:{endpoint.bound_port}"
        assert run(["verify", str(applied), "--address", address, "--requests", "4"]) == 0
        out = capsys.readouterr().out
        assert f"  https: {address} (--address)" in out
        assert plane.handshake_failures()  # the refusal checks went through this data plane


def _free_offset(vip: str) -> int:
    for offset in range(21000, 60000, 997):
        ok = True
        for host, port in ((vip, 443), ("127.32.0.1", 80), ("127.32.0.2", 80)):
            with socket.socket() as probe:
                try:
                    probe.bind((host, port + offset))
                except OSError:
                    ok = False
        if ok:
            return offset
    raise RuntimeError("no free offset")


def test_a_damaged_holder_record_is_named_not_a_traceback(applied, capsys):
    """Another emulator holds the world and its lock file says nothing readable: verify and
    plan report the damage, naming the file, with exit code 1."""
    from mtlsform.emulator import Emulator, EmulatorConfig
    from mtlsform.emulator.holder import lock_file

    data_dir = applied.parent / ".mtlsform" / "emulator"
    with Emulator(EmulatorConfig(data_dir=data_dir)):
        lock_file(data_dir).write_text("{damaged")
        assert run(["verify", str(applied)]) == 1
        err = capsys.readouterr().err
        assert f"in use by another emulator; the holder record in {lock_file(data_dir)} is " \
               "damaged: not JSON" in err
        assert run(["plan", str(applied)]) == 1
        err = capsys.readouterr().err
        assert f"the holder record in {lock_file(data_dir)} is damaged" in err
        assert "Traceback" not in err
