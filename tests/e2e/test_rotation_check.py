"""A certificate switched in place is confirmed by a real TLS handshake to the data plane of
`mtlsform emulator serve --data-plane` (issue 11, rotation as a verified transaction): the apply
says the entry presents the new certificate; when the data plane keeps presenting the old one
(MTLSFORM_EMULATOR_DATA_PLANE_FROZEN), the entry is switched back, the apply fails with one
message, the old upload is kept, and the next apply (the fault gone) converges."""

from __future__ import annotations

import os
import re

import pytest

from mtlsform.cli.main import run
from mtlsform.emulator import environment
from mtlsform.providers.base import ListenerInfo
from tests.e2e.cloud import state_attributes
from tests.e2e.conftest import free_offset
from tests.e2e.test_rotation_traffic import ENTRIES, Entry

pytestmark = pytest.mark.e2e


def _rotate(stack_path, entry: Entry) -> None:
    text = stack_path.read_text()
    assert entry.edit[0] in text
    stack_path.write_text(text.replace(*entry.edit))


def _certificate_in_world(stack_path, entry: Entry, lb_id: str) -> str | None:
    """The certificate ID the world binds to the entry (the listener, or the domain's rule)."""
    from mtlsform.cli.stackload import load_with_vars
    from mtlsform.providers import open_provider

    stack, diagnostics = load_with_vars(stack_path, [])
    assert stack is not None, diagnostics
    data_dir = stack_path.parent / ".mtlsform" / "emulator"
    with open_provider(stack.provider, emulator_data_dir=data_dir,
                       environ=os.environ) as (provider, context):
        assert context.shared_emulator is not None  # the serving emulator answered
        listeners: dict[str, ListenerInfo] = provider.read_listeners(lb_id) or {}
    for listener in listeners.values():
        if listener.port != 443:
            continue
        if not listener.sni:
            return listener.certificate.certificate_id if listener.certificate else None
        for rule in listener.rules:
            if rule.domain == entry.domain and rule.certificate is not None:
                return rule.certificate.certificate_id
    return None


def _serve(stacks, entry: Entry, serve, vip: str):
    offset = free_offset([(vip, 443), *entry.demo])
    return serve(stacks / ".mtlsform" / "emulator", offset, (vip, 443 + offset))


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_rotation_is_confirmed_by_a_handshake_to_the_served_data_plane(
        name, stacks, environ, serve, capsys, tmp_path):
    entry = ENTRIES[name]
    stack = stacks / entry.stack
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    vip = state_attributes(stacks, entry.name, entry.lb)["vip"]
    old = state_attributes(stacks, entry.name, f"certificate.{entry.server}")["fingerprint"]
    served = _serve(stacks, entry, serve, vip)

    _rotate(stack, entry)
    capsys.readouterr()
    code = run(["apply", str(stack), "--auto-approve"])
    applied = capsys.readouterr().err
    assert code == 0, applied
    new = state_attributes(stacks, entry.name, f"certificate.{entry.server}")["fingerprint"]
    assert new != old
    confirmed = re.findall(rf"^(\S+) presents the new certificate \(sha256 {new[:16]}\)\.$",
                           applied, re.MULTILINE)
    assert len(confirmed) == 1, applied
    assert confirmed[0].startswith("listener." if name == "sni-off" else "rule."), confirmed
    assert "switched back" not in applied
    assert served.process.poll() is None


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_data_plane_that_keeps_the_old_certificate_switches_the_entry_back(
        name, stacks, environ, serve, capsys, tmp_path):
    entry = ENTRIES[name]
    stack = stacks / entry.stack
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    vip = state_attributes(stacks, entry.name, entry.lb)["vip"]
    lb_id = state_attributes(stacks, entry.name, entry.lb)["id"]
    old = state_attributes(stacks, entry.name, f"certificate.{entry.server}")["fingerprint"]
    old_upload = state_attributes(stacks, entry.name, f"ssl_certificate.{entry.server}")["id"]

    calls = tmp_path / "calls.log"
    environ[environment.CALL_LOG] = str(calls)  # what the serving emulator gets
    environ[environment.DATA_PLANE_FROZEN] = "1"
    served = _serve(stacks, entry, serve, vip)
    assert "frozen (following no change of the world)" in served.log_text()

    _rotate(stack, entry)
    capsys.readouterr()
    code = run(["apply", str(stack), "--auto-approve"])
    failed = capsys.readouterr().err
    assert code == 1, failed
    assert "Traceback" not in failed
    new_upload = state_attributes(stacks, entry.name, f"ssl_certificate.{entry.server}")["id"]
    assert new_upload != old_upload
    message = (f" still presents sha256 {old[:16]} after the switch to {new_upload} "
               f"(sha256 ")
    assert message in failed, failed
    assert f"switched back to {old_upload}; the old upload is kept" in failed, failed
    # the entry is back on the old upload, in the world and in the state; nothing was deleted
    landed = [line.split(" ", 1)[1] for line in calls.read_text().splitlines()]
    assert landed == ["UploadCertificate", entry.switch, entry.switch], landed
    assert _certificate_in_world(stack, entry, lb_id) == old_upload
    served.stop()

    # the fault gone, the next apply rotates, confirms it and deletes the old upload
    del environ[environment.DATA_PLANE_FROZEN]
    calls.write_text("")
    served = _serve(stacks, entry, serve, vip)
    capsys.readouterr()
    code = run(["apply", str(stack), "--auto-approve"])
    applied = capsys.readouterr().err
    assert code == 0, applied
    assert "presents the new certificate" in applied, applied
    landed = [line.split(" ", 1)[1] for line in calls.read_text().splitlines()]
    assert landed == [entry.switch, "DeleteCertificate"], landed
    assert _certificate_in_world(stack, entry, lb_id) == new_upload
    capsys.readouterr()
    assert run(["plan", str(stack), "--detailed-exitcode"]) == 0, capsys.readouterr()


def test_verify_rotation_against_the_cloud_kind_fails_when_no_handshake_reaches_the_vip(
        stacks, environ, serve, capsys, monkeypatch):
    """kind tencentcloud (here pointed at the serving emulator): no handshake without the
    flag; with --verify-rotation, to the VIP at the listener's own port, where nothing listens
    (the data plane listens at an offset): the entry is switched back and the apply fails."""
    import ipaddress
    import json
    import os

    from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, clb_loadbalancers
    from mtlsform.emulator.holder import lock_file

    # A VIP of this test process alone: the test needs nothing listening at VIP:443, and other
    # test processes (pytest -n) serve data planes on the usual 127.64.0.1:443.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    monkeypatch.setattr(clb_loadbalancers, "VIP_NETWORK",
                        ipaddress.IPv4Network(f"127.66.{worker % 256}.0/24"))
    entry = ENTRIES["sni-off"]
    stack = stacks / entry.stack
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    vip = state_attributes(stacks, entry.name, entry.lb)["vip"]
    assert vip.startswith("127.66."), vip
    old_upload = state_attributes(stacks, entry.name, f"ssl_certificate.{entry.server}")["id"]
    served = _serve(stacks, entry, serve, vip)
    url = json.loads(lock_file(stacks / ".mtlsform" / "emulator").read_text())["url"]
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
    text = stack.read_text()
    assert "  kind: emulator " in text
    stack.write_text(text.replace("  kind: emulator ",
                                  f"  kind: tencentcloud\n  endpoint: {url}\n#"))

    _rotate(stack, entry)
    capsys.readouterr()
    code = run(["apply", str(stack), "--auto-approve", "--verify-rotation"])
    failed = capsys.readouterr().err
    assert code == 1, failed
    new_upload = state_attributes(stacks, entry.name, f"ssl_certificate.{entry.server}")["id"]
    assert (f"listener.https could not be reached by a TLS handshake after the switch to "
            f"{new_upload} (sha256 ") in failed, failed
    assert f"switched back to {old_upload}; the old upload is kept" in failed, failed
    assert state_attributes(stacks, entry.name, "listener.https")["certificate_id"] == old_upload

    capsys.readouterr()
    code = run(["apply", str(stack), "--auto-approve"])  # without the flag: no handshake
    applied = capsys.readouterr().err
    assert code == 0, applied
    assert "presents" not in applied and "switched back" not in applied, applied
    assert state_attributes(stacks, entry.name, "listener.https")["certificate_id"] == new_upload
    assert served.process.poll() is None
