"""The `certs` commands end to end through the CLI entry point, and the secret-leak scan."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization.pkcs12 import load_key_and_certificates

from mtlsform.cli.main import run
from mtlsform.pki.export import export_client_files
from mtlsform.pki.importing import read_imported
from mtlsform.pki.inspection import inspect_files, render_text
from mtlsform.pki.material import CertificateMaterial
from mtlsform.sensitive import Sensitive
from mtlsform.stack.checks.contents import check_certificates
from tests.pki.builders import ANCHOR, CertSet, imported, make_stack

NOW = ANCHOR  # the instant the test certificates are dated from


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--no-color", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_text_exact(p256: CertSet, tmp_path: Path) -> None:
    (tmp_path / "server.crt").write_text(p256.server.certificate_pem)
    found = inspect_files([tmp_path / "server.crt"])
    m = p256.server
    now = m.not_before + timedelta(days=10, hours=1)
    days = (m.not_after - now).days
    assert render_text(found, now) == (
        f"{tmp_path / 'server.crt'}\n"
        "  subject:    CN=www.example.com\n"
        "  issuer:     CN=Example Root CA\n"
        f"  serial:     {m.serial}\n"
        "  SANs:       DNS:www.example.com, DNS:localhost, IP:127.0.0.1\n"
        "  key:        ecdsa-p256\n"
        "  key usage:  digitalSignature\n"
        "  EKUs:       serverAuth\n"
        "  CA:         no\n"
        f"  not before: {m.not_before:%Y-%m-%dT%H:%M:%SZ}\n"
        f"  not after:  {m.not_after:%Y-%m-%dT%H:%M:%SZ} ({days} days left)\n"
        "  signature:  ecdsa-with-SHA256\n"
        f"  sha256:     {m.fingerprint_sha256}\n")
    assert "(EXPIRED 3 days ago)" in render_text(found, m.not_after + timedelta(days=3))
    assert "(1 day left)" in render_text(found, m.not_after - timedelta(days=1, hours=1))
    assert "(not valid yet)" in render_text(found, m.not_before - timedelta(seconds=1))


def test_inspect_text_bundle_and_der(p256: CertSet, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bundle.pem").write_text(p256.client.certificate_pem + p256.ca.certificate_pem)
    (tmp_path / "ca.der").write_bytes(p256.ca.certificate().public_bytes(
        serialization.Encoding.DER))
    code, out, err = cli(capsys, "certs", "inspect", str(tmp_path / "bundle.pem"),
                         str(tmp_path / "ca.der"))
    assert (code, err) == (0, "")
    titles = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert titles == [f"{tmp_path / 'bundle.pem'} (certificate 1 of 2)",
                      f"{tmp_path / 'bundle.pem'} (certificate 2 of 2)",
                      f"{tmp_path / 'ca.der'}"]
    assert out.count("  CA:         yes (path length 0)\n") == 2
    assert "  EKUs:       clientAuth\n" in out
    assert "  SANs:       DNS:client-1\n" in out


def test_inspect_json(p256: CertSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "server.crt").write_text(p256.server.full_chain_pem)
    code, out, err = cli(capsys, "certs", "inspect", "--json", str(tmp_path / "server.crt"))
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["format_version"] == 1
    [cert] = doc["certificates"]
    assert cert["file"] == str(tmp_path / "server.crt") and cert["index"] == 1
    assert cert["subject_cn"] == "www.example.com"
    assert cert["sans"] == ["DNS:www.example.com", "DNS:localhost", "IP:127.0.0.1"]
    assert cert["ekus"] == ["serverAuth"] and cert["is_ca"] is False
    assert cert["key_type"] == "ecdsa-p256" and cert["expired"] is False
    assert cert["fingerprint_sha256"] == p256.server.fingerprint_sha256
    assert cert["not_after"] == p256.server.to_state()["not_after"]
    assert cert["days_left"] >= 364


def test_inspect_pkcs12(p256: CertSet, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    export_client_files(p256.client, p256.ca, tmp_path, "client", pkcs12=False,
                        legacy_pkcs12=True, password=Sensitive("pw"))
    p12 = str(tmp_path / "client-legacy.p12")
    monkeypatch.delenv("MTLSFORM_P12_PASSWORD", raising=False)
    code, out, err = cli(capsys, "certs", "inspect", p12)
    assert code == 1 and out == ""
    # Not on a terminal (tests): no prompt, a clear message.
    assert err == (f"error: {p12}: a password for the PKCS#12 file is needed\n"
                   "  hint: set MTLSFORM_P12_PASSWORD, or run on a terminal to be asked for it\n")
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", "pw")
    code, out, err = cli(capsys, "certs", "inspect", p12)
    assert (code, err) == (0, "")
    assert "(certificate 1 of 2)" in out and "subject:    CN=client-1" in out
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", "wrong")
    code, out, err = cli(capsys, "certs", "inspect", p12)
    assert code == 1
    assert err.startswith(f"error: {p12} is not a certificate file, or the PKCS#12 password "
                          "does not open it\n")


def test_inspect_errors(p256: CertSet, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "certs", "inspect", str(tmp_path / "nope.pem"))
    assert (code, out) == (1, "")
    assert err == f"error: cannot read {tmp_path / 'nope.pem'}: No such file or directory\n"
    (tmp_path / "key.pem").write_text(p256.client.private_key_pem.reveal())
    code, out, err = cli(capsys, "certs", "inspect", str(tmp_path / "key.pem"))
    assert (code, out) == (1, "")
    assert err == (f"error: {tmp_path / 'key.pem'} holds no PEM certificate\n"
                   '  hint: expected a "-----BEGIN CERTIFICATE-----" block; it holds: EC PRIVATE '
                   "KEY\n")
    (tmp_path / "text.txt").write_text("hello")
    code, _, err = cli(capsys, "certs", "inspect", str(tmp_path / "text.txt"))
    assert code == 1
    assert err == (f"error: {tmp_path / 'text.txt'} holds no certificate\n"
                   '  hint: expected PEM ("-----BEGIN CERTIFICATE-----"), DER or PKCS#12\n')
    code, _, err = cli(capsys, "certs", "inspect")
    assert code == 1 and "Missing argument 'FILE...'" in err


def test_export_command_needs_a_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "certs", "export", "--help")
    assert code == 0
    for flag in ("--out", "--pkcs12", "--legacy-pkcs12"):
        assert flag in out
    code, _, err = cli(capsys, "certs", "export", str(tmp_path / "stack.yaml"), "client")
    assert code == 1 and "cannot read" in err and "stack.yaml" in err  # --out is optional


STACK_YAML = """\
version: 1
stack: certs-cli
certificates:
  ca:
    type: ca
    subject: {common_name: Example Root CA}
    key: ecdsa-p256
  client:
    type: client
    issuer: ca
    key: ecdsa-p256
    subject: {common_name: client-1}
"""


def recorded(name: str, material: Any) -> dict[str, Any]:
    """A generated certificate's record as apply writes it (the shape the state reader checks)."""
    return {"kind": "generated", "type": name, "export": None, **material.to_state()}


def write_state(stack_file: Path, cert_set: CertSet) -> None:
    """The state apply leaves: the certificates' attributes, written by the state package."""
    from mtlsform.state.local import LocalStateStore, default_state_path
    from mtlsform.state.model import ResourceState, State

    resources = [ResourceState(f"certificate.{name}", recorded(name, material))
                 for name, material in (("ca", cert_set.ca), ("client", cert_set.client))]
    with LocalStateStore(default_state_path(stack_file, "certs-cli")) as store:
        store.write(State.empty("certs-cli").with_resources(resources))


def test_export_command_from_the_state(p256: CertSet, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML)
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, "certs", "export", str(stack_file), "client", "--out",
                            str(out))
    assert (code, stdout) == (1, "")
    assert err == (f"error: certificate 'client' is not in the state yet\n"
                   f"  hint: run: mtlsform apply {stack_file}\n")
    write_state(stack_file, p256)
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", "pw")
    code, stdout, err = cli(capsys, "certs", "export", str(stack_file), "client", "--out",
                            str(out), "--pkcs12", "--legacy-pkcs12")
    assert (code, err) == (0, "")
    names = ["client.crt", "client.key", "ca.crt", "client.p12", "client-legacy.p12"]
    assert stdout.splitlines() == [f"wrote {out / n}" for n in names]
    assert (out / "client.crt").read_text() == p256.client.certificate_pem
    assert (out / "ca.crt").read_text() == p256.ca.certificate_pem
    assert load_key_and_certificates((out / "client.p12").read_bytes(), b"pw")[1] == \
        p256.client.certificate()
    code, _, err = cli(capsys, "certs", "export", str(stack_file), "nobody", "--out", str(out))
    assert code == 1
    assert err == ("error: the stack has no certificate 'nobody'\n"
                   "  hint: its certificates: ca, client\n")
    monkeypatch.delenv("MTLSFORM_P12_PASSWORD")
    code, _, err = cli(capsys, "certs", "export", str(stack_file), "client", "--out", str(out),
                       "--pkcs12")
    assert code == 1 and err.startswith("error: a password for the PKCS#12 file is needed\n")


def test_export_command_with_an_invalid_stack(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML.replace("type: client", "type: clinet"))
    code, out, err = cli(capsys, "certs", "export", str(stack_file), "client", "--out",
                         str(tmp_path / "out"))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {stack_file}:9:11: certificates.client.type: ")
    assert err.endswith(f"  hint: run: mtlsform validate {stack_file}\n")
    assert not (tmp_path / "out").exists()


# --- private keys never appear in output -----------------------------------------------------

def _secret_fragments(*materials: CertificateMaterial) -> list[str]:
    """Every base64 line of every private key, in both PEM forms we write."""
    fragments = []
    for m in materials:
        assert m.private_key_pem is not None
        key = m.private_key()
        for text in (m.private_key_pem.reveal(), key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()):
            fragments += [line for line in text.splitlines()[1:-1] if len(line) >= 16]
    return fragments


def test_private_keys_never_reach_output(p256: CertSet, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         caplog: pytest.LogCaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = _secret_fragments(p256.ca, p256.server, p256.client)
    key = p256.client.private_key_pem.reveal()
    assert len(secrets) >= 6 and any(s in key for s in secrets)  # the scan can find a leak
    # Files mixing keys and certificates, a key alone, a damaged key, PKCS#12 files.
    (tmp_path / "combined.pem").write_text(key + p256.client.certificate_pem)
    (tmp_path / "key.pem").write_text(key)
    (tmp_path / "broken.key").write_text(key.replace(key.splitlines()[2], "!" * 20))
    (tmp_path / "server.crt").write_text(p256.server.certificate_pem)
    written = export_client_files(p256.client, p256.ca, tmp_path / "out", "client",
                                  pkcs12=True, legacy_pkcs12=True, password=Sensitive("pw"))
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", "pw")
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML)
    write_state(stack_file, p256)
    outputs = []
    for args in (["certs", "export", str(stack_file), "client", "--out", str(tmp_path / "cli"),
                  "--pkcs12", "--legacy-pkcs12"],
                 ["--debug", "certs", "export", str(stack_file), "client", "--out",
                  str(tmp_path / "cli" / "client.key")],  # a file where a directory should be
["certs", "inspect", str(tmp_path / "combined.pem")],
                 ["certs", "inspect", "--json", str(tmp_path / "combined.pem")],
                 ["certs", "inspect", *(str(p) for p in written if p.suffix != ".key")],
                 ["certs", "inspect", "--json", *map(str, written[:1] + written[3:])],
                 ["certs", "inspect", str(tmp_path / "key.pem")],
                 ["--debug", "certs", "inspect", str(tmp_path / "broken.key")],
                 ["certs", "inspect", str(tmp_path / "out" / "client.key")]):
        code, out, err = cli(capsys, *args)
        outputs.append(f"{code}\n{out}\n{err}")
    assert [o.split("\n", 1)[0] for o in outputs] == ["0", "1", "0", "0", "0", "0", "1", "1", "1"]
    # Diagnostics and errors about key files, and the values the engine carries.
    spec = imported("s", "server", "server.crt", "broken.key")
    stack = make_stack(tmp_path, [spec, imported("k", "server", "server.crt", "key.pem")])
    outputs += [d.format() for d in check_certificates(stack, now=NOW)]
    outputs += [repr(read_imported(spec, tmp_path, {}, now=NOW))]
    for m in (p256.ca, p256.server, p256.client):
        outputs += [repr(m), str(m), repr(m.to_state()), f"{m}"]
    outputs += [record.getMessage() for record in caplog.records]
    text = "\n".join(outputs)
    assert "s.files.private_key: broken.key: the private key at line 1 cannot be parsed" in text
    assert "PRIVATE KEY-----" not in text
    leaked = [s for s in secrets if s in text]
    assert leaked == []


# --- the stack and the state found as `plan` finds them: --var, MTLSFORM_VAR_, --state -------

def test_export_command_takes_var_and_state(p256: CertSet, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTLSFORM_VAR_client_cn", raising=False)
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML.replace("stack: certs-cli\n",
                                             "stack: certs-cli\nvariables: {client_cn: null}\n")
                          .replace("common_name: client-1", "common_name: '${var.client_cn}'"))
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, "certs", "export", str(stack_file), "client", "--out",
                            str(out))
    assert (code, stdout) == (1, "")
    assert "variable 'client_cn' has no value" in err
    assert err.endswith(f"  hint: run: mtlsform validate {stack_file}\n")
    # The state elsewhere than beside the stack, as `plan --state` reads it.
    write_state(stack_file, p256)
    elsewhere = tmp_path / "states" / "certs.json"
    elsewhere.parent.mkdir()
    (stack_file.parent / ".mtlsform" / "certs-cli.state.json").rename(elsewhere)
    args = ["certs", "export", str(stack_file), "client", "--out", str(out)]
    code, _, err = cli(capsys, *args, "--var", "client_cn=client-1")
    assert (code, err) == (1, f"error: certificate 'client' is not in the state yet\n"
                              f"  hint: run: mtlsform apply {stack_file}\n")
    code, stdout, err = cli(capsys, *args, "--var", "client_cn=client-1", "--state",
                            str(elsewhere))
    assert (code, err) == (0, "")
    assert stdout.splitlines() == [f"wrote {out / n}" for n in ("client.crt", "client.key",
                                                                 "ca.crt")]
    assert (out / "client.crt").read_text() == p256.client.certificate_pem
    monkeypatch.setenv("MTLSFORM_VAR_client_cn", "client-1")
    code, _, err = cli(capsys, *args, "--state", str(elsewhere))
    assert (code, err) == (0, "")
    code, _, err = cli(capsys, *args, "--state", str(elsewhere), "--var", "nope=1")
    assert code == 1 and "the stack declares no variable 'nope'" in err


def test_export_command_reads_an_encrypted_state_as_plan_does(
        p256: CertSet, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mtlsform.state.local import LocalStateStore, default_state_path
    from mtlsform.state.model import ResourceState, State

    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML)
    resources = [ResourceState(f"certificate.{name}", recorded(name, material))
                 for name, material in (("ca", p256.ca), ("client", p256.client))]
    with LocalStateStore(default_state_path(stack_file, "certs-cli"),
                         passphrase=Sensitive("a passphrase")) as store:
        store.write(State.empty("certs-cli").with_resources(resources))
    args = ["certs", "export", str(stack_file), "client", "--out", str(tmp_path / "out")]
    monkeypatch.delenv("MTLSFORM_STATE_PASSPHRASE", raising=False)
    code, _, err = cli(capsys, *args)
    assert code == 1 and "MTLSFORM_STATE_PASSPHRASE" in err
    monkeypatch.setenv("MTLSFORM_STATE_PASSPHRASE", "a passphrase")
    code, _, err = cli(capsys, *args)
    assert (code, err) == (0, "")
    assert (tmp_path / "out" / "client.key").is_file()


def folder_snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of `folder` (temporaries too) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_export_writes_all_files_or_none(p256: CertSet, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML)
    write_state(stack_file, p256)
    out = tmp_path / "out"
    out.mkdir()
    (out / "client.crt").write_bytes(b"old certificate\n")
    (out / "notes.txt").write_bytes(b"mine\n")
    before = folder_snapshot(out)
    monkeypatch.delenv("MTLSFORM_P12_PASSWORD", raising=False)
    code, stdout, err = cli(capsys, "certs", "export", str(stack_file), "client", "--out",
                            str(out), "--pkcs12")
    assert (code, stdout) == (1, "")
    assert err.startswith("error: a password for the PKCS#12 file is needed\n")
    assert folder_snapshot(out) == before


def test_export_of_a_damaged_key_writes_nothing(p256: CertSet, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from mtlsform.state.local import LocalStateStore, default_state_path
    from mtlsform.state.model import ResourceState, State

    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(STACK_YAML)
    client = recorded("client", p256.client)
    key_pem = client["private_key_pem"]
    key_pem = key_pem.reveal() if isinstance(key_pem, Sensitive) else key_pem
    lines = key_pem.splitlines()
    client["private_key_pem"] = "\n".join([lines[0], "AAAA" + lines[1][4:], *lines[2:]]) + "\n"
    resources = [ResourceState("certificate.ca", recorded("ca", p256.ca)),
                 ResourceState("certificate.client", client)]
    with LocalStateStore(default_state_path(stack_file, "certs-cli")) as store:
        store.write(State.empty("certs-cli").with_resources(resources))
    monkeypatch.setenv("MTLSFORM_P12_PASSWORD", "pw")
    for existing in (False, True):
        out = tmp_path / f"out-{existing}"
        if existing:
            out.mkdir()
            (out / "client.crt").write_bytes(b"old certificate\n")
        before = folder_snapshot(out) if existing else None
        code, stdout, err = cli(capsys, "certs", "export", str(stack_file), "client",
                                "--out", str(out), "--pkcs12")
        assert (code, stdout) == (1, ""), err
        assert err == ("error: the private key of certificate 'client-1' is damaged "
                       "(unreadable PEM)\n"
                       "  hint: the state file may be damaged; restore it from its backup\n")
        assert "PRIVATE KEY" not in err and lines[1] not in err
        if existing:
            assert folder_snapshot(out) == before
        else:
            assert not out.exists()
