"""Export of the client files: names, modes, both PKCS#12 forms (checked by openssl), password."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from mtlsform.errors import CertificateError
from mtlsform.pki.export import (
    export_client_files,
    export_from_spec,
    exported_file_names,
    p12_password,
)
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Export
from tests.pki.builders import CertSet, client_spec

PASSWORD = "correct horse battery staple"
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def exported(p256: CertSet, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Both PKCS#12 forms written once (the KDF rounds make each take a moment)."""
    out = tmp_path_factory.mktemp("export") / "out" / "client-1"
    return export_client_files(p256.client, p256.ca, out, "client", pkcs12=True,
                               legacy_pkcs12=True, password=Sensitive(PASSWORD))


def test_files_and_modes(exported: list[Path]) -> None:
    out = exported[0].parent
    assert [p.name for p in exported] == ["client.crt", "client.key", "ca.crt", "client.p12",
                                          "client-legacy.p12"]
    assert exported_file_names("client", pkcs12=True, legacy_pkcs12=True) == \
        [p.name for p in exported]
    assert {p.name: mode(p) for p in exported} == {
        "client.crt": 0o644, "client.key": 0o600, "ca.crt": 0o644, "client.p12": 0o600,
        "client-legacy.p12": 0o600}
    assert mode(out) == 0o700 and mode(out.parent) == 0o700  # every new directory
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in exported)  # no temp


def test_pem_files(p256: CertSet, exported: list[Path]) -> None:
    out = exported[0].parent
    assert (out / "client.crt").read_text() == p256.client.certificate_pem
    assert (out / "ca.crt").read_text() == p256.ca.certificate_pem
    key = (out / "client.key").read_text()
    assert key.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8 for local tools


@needs_openssl
def test_openssl_verifies_the_exported_pem(exported: list[Path]) -> None:
    out = exported[0].parent
    result = subprocess.run(["openssl", "verify", "-purpose", "sslclient", "-CAfile",
                             str(out / "ca.crt"), str(out / "client.crt")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pub_key = subprocess.run(["openssl", "pkey", "-in", str(out / "client.key"), "-pubout"],
                             capture_output=True, text=True, timeout=60)
    pub_cert = subprocess.run(["openssl", "x509", "-in", str(out / "client.crt"), "-noout",
                               "-pubkey"], capture_output=True, text=True, timeout=60)
    assert pub_key.returncode == 0 and pub_key.stdout == pub_cert.stdout


def openssl_p12_info(path: Path, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MTLSFORM_P12_PASSWORD": password}
    return subprocess.run(["openssl", "pkcs12", "-info", "-in", str(path), "-passin",
                           "env:MTLSFORM_P12_PASSWORD", "-noout"],
                          capture_output=True, text=True, env=env, timeout=60)


@needs_openssl
def test_modern_pkcs12_is_aes256_with_sha256_mac(exported: list[Path]) -> None:
    result = openssl_p12_info(exported[0].parent / "client.p12", PASSWORD)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "MAC: sha256" in text
    assert "PBES2, PBKDF2, AES-256-CBC" in text and "PRF hmacWithSHA256" in text
    assert "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC" in text
    assert "TripleDES" not in text and "sha1" not in text.lower()


@needs_openssl
def test_legacy_pkcs12_is_3des_with_sha1_mac(exported: list[Path]) -> None:
    result = openssl_p12_info(exported[0].parent / "client-legacy.p12", PASSWORD)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "MAC: sha1" in text
    assert "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC" in text
    assert "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" in text
    assert "AES" not in text


@needs_openssl
def test_openssl_refuses_a_wrong_password(exported: list[Path]) -> None:
    result = openssl_p12_info(exported[0].parent / "client.p12", "wrong")
    assert result.returncode != 0
    assert "Mac verify error: invalid password?" in result.stdout + result.stderr


def test_pkcs12_contents(p256: CertSet, exported: list[Path]) -> None:
    for name in ("client.p12", "client-legacy.p12"):
        loaded = pkcs12.load_pkcs12((exported[0].parent / name).read_bytes(), PASSWORD.encode())
        assert loaded.cert is not None and loaded.key is not None
        assert loaded.cert.certificate == p256.client.certificate()
        assert loaded.cert.friendly_name == b"client-1"
        assert loaded.key.public_key() == p256.client.certificate().public_key()
        assert [c.certificate for c in loaded.additional_certs] == [p256.ca.certificate()]


def test_existing_files_get_tight_modes(p256: CertSet, tmp_path: Path) -> None:
    out = tmp_path / "existing"
    out.mkdir(mode=0o755)
    (out / "c.key").write_text("old")
    os.chmod(out / "c.key", 0o644)
    written = export_client_files(p256.client, None, out, "c", pkcs12=False,
                                  legacy_pkcs12=False, password=None)
    assert [p.name for p in written] == ["c.crt", "c.key"]  # no CA given: no ca.crt
    assert mode(out / "c.key") == 0o600 and (out / "c.key").read_text() != "old"
    assert mode(out) == 0o755  # an existing directory is left as it is


def test_export_refusals(p256: CertSet, tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="a password for the PKCS#12 file is needed"):
        export_client_files(p256.client, p256.ca, tmp_path, "c", pkcs12=True,
                            legacy_pkcs12=False, password=None)
    keyless = replace(p256.client, private_key_pem=None)
    with pytest.raises(CertificateError, match="certificate 'c' has no private key to export"):
        export_client_files(keyless, p256.ca, tmp_path, "c", pkcs12=False,
                            legacy_pkcs12=False, password=None)
    with pytest.raises(CertificateError, match=r"both would be written to ca\.crt"):
        export_client_files(p256.client, p256.ca, tmp_path, "ca", pkcs12=False,
                            legacy_pkcs12=False, password=None)
    (tmp_path / "file").write_text("")
    with pytest.raises(CertificateError, match="cannot write to"):
        export_client_files(p256.client, p256.ca, tmp_path / "file" / "sub", "c",
                            pkcs12=False, legacy_pkcs12=False, password=None)
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]  # nothing written


def test_export_from_spec(p256: CertSet, tmp_path: Path) -> None:
    spec = replace(client_spec(), export=Export(Path("out/c1")))
    written = export_from_spec(spec, tmp_path, p256.client, p256.ca, None)
    assert written == [tmp_path / "out/c1/client.crt", tmp_path / "out/c1/client.key",
                       tmp_path / "out/c1/ca.crt"]
    assert export_from_spec(client_spec(), tmp_path, p256.client, p256.ca, None) == []


def test_p12_password_sources() -> None:
    assert p12_password({"MTLSFORM_P12_PASSWORD": "pw"}, interactive=False).reveal() == "pw"
    with pytest.raises(CertificateError) as caught:
        p12_password({}, interactive=False)
    assert str(caught.value) == "a password for the PKCS#12 file is needed"
    assert caught.value.hint == ("set MTLSFORM_P12_PASSWORD, or run on a terminal to be asked "
                                 "for it")
    with pytest.raises(CertificateError, match="MTLSFORM_P12_PASSWORD is set but empty"):
        p12_password({"MTLSFORM_P12_PASSWORD": ""}, interactive=True)

    answers = iter(["typed secret", "typed secret"])
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return next(answers)

    assert p12_password({}, interactive=True, prompt=prompt).reveal() == "typed secret"
    assert prompts == ["PKCS#12 password: ", "Repeat the PKCS#12 password: "]
    answers = iter(["typed secret", "typo secret"])
    with pytest.raises(CertificateError) as caught:
        p12_password({}, interactive=True, prompt=prompt)
    assert str(caught.value) == "the two passwords differ"
    answers = iter([""])
    with pytest.raises(CertificateError, match="the PKCS#12 password must not be empty"):
        p12_password({}, interactive=True, prompt=prompt)
