"""Export of the client side's files: PEM certificate and key, the CA, PKCS#12 for browsers.

Files written for certificate NAME in the output directory:
    NAME.crt         the certificate, then its intermediates (PEM)
    NAME.key         its private key, unencrypted PKCS#8 PEM, mode 0600
    ca.crt           the issuing CA certificate (and its chain), for --cacert / trust stores
    NAME.p12         (pkcs12) AES-256-CBC / PBKDF2-SHA256 bags, SHA-256 MAC, mode 0600
    NAME-legacy.p12  (legacy_pkcs12) 3DES / SHA-1 bags, SHA-1 MAC, for old macOS and Windows
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12 as p12format

from mtlsform.errors import CertificateError
from mtlsform.files import fsync_directory, write_temporary
from mtlsform.pki.keys import pkcs8_pem
from mtlsform.pki.material import CertificateMaterial
from mtlsform.pki.spec import CertificateSpec
from mtlsform.sensitive import Sensitive

P12_PASSWORD_ENV = "MTLSFORM_P12_PASSWORD"
CA_FILE_NAME = "ca.crt"
# PBKDF2 rounds of the modern form: 10x cryptography's default, ~0.3 s on a slow core.
MODERN_KDF_ROUNDS = 200_000
# The legacy form's KDF is PKCS#12's SHA-1 one; 50 000 is what cryptography's docs use.
LEGACY_KDF_ROUNDS = 50_000


def exported_file_names(name: str, *, pkcs12: bool, legacy_pkcs12: bool,
                        ca: bool = True) -> list[str]:
    """The names export_client_files writes for certificate `name`, in the order it writes them."""
    names = [f"{name}.crt", f"{name}.key"] + ([CA_FILE_NAME] if ca else [])
    return (names + ([f"{name}.p12"] if pkcs12 else [])
            + ([f"{name}-legacy.p12"] if legacy_pkcs12 else []))


def material_from_state_attributes(attrs: Mapping[str, Any]) -> CertificateMaterial:
    """The material a state resource `certificate.NAME` holds (its attributes)."""
    return CertificateMaterial.from_state(attrs)


def p12_password(environ: Mapping[str, str], *, interactive: bool, confirm: bool = True,
                 prompt: Callable[[str], str] = getpass.getpass) -> Sensitive[str]:
    """The PKCS#12 password: MTLSFORM_P12_PASSWORD, else a prompt (typed twice) on a terminal."""
    if P12_PASSWORD_ENV in environ:
        if not environ[P12_PASSWORD_ENV]:
            raise CertificateError(f"{P12_PASSWORD_ENV} is set but empty",
                                   hint="browsers refuse a PKCS#12 file without a password")
        return Sensitive(environ[P12_PASSWORD_ENV])
    if not interactive:
        raise CertificateError(
            "a password for the PKCS#12 file is needed",
            hint=f"set {P12_PASSWORD_ENV}, or run on a terminal to be asked for it")
    first = prompt("PKCS#12 password: ")
    if not first:
        raise CertificateError("the PKCS#12 password must not be empty",
                               hint="browsers refuse a PKCS#12 file without a password")
    if confirm and prompt("Repeat the PKCS#12 password: ") != first:
        raise CertificateError("the two passwords differ")
    return Sensitive(first)


def pkcs12_bytes(material: CertificateMaterial, ca_material: CertificateMaterial | None,
                 password: Sensitive[str], *, legacy: bool) -> bytes:
    """A password-protected PKCS#12 of the key, the certificate, its chain and the CA."""
    builder = serialization.PrivateFormat.PKCS12.encryption_builder()
    if legacy:
        builder = (builder.kdf_rounds(LEGACY_KDF_ROUNDS)
                   .key_cert_algorithm(p12format.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                   .hmac_hash(hashes.SHA1()))
    else:
        builder = (builder.kdf_rounds(MODERN_KDF_ROUNDS)
                   .key_cert_algorithm(p12format.PBES.PBESv2SHA256AndAES256CBC)
                   .hmac_hash(hashes.SHA256()))
    encryption = builder.build(password.reveal().encode("utf-8"))
    extra = material.chain()
    if ca_material is not None:
        extra += [ca_material.certificate(), *ca_material.chain()]
    seen: set[bytes] = set()
    cas = []
    for cert in extra:  # the CA may also close the chain: include each certificate once
        der = cert.public_bytes(serialization.Encoding.DER)
        if der not in seen:
            seen.add(der)
            cas.append(cert)
    # The friendly name is what Windows and keychains list; the common name says who it is.
    name = (material.subject_cn or "certificate").encode("utf-8")
    return p12format.serialize_key_and_certificates(name, material.private_key(),
                                                 material.certificate(), cas, encryption)


def _make_dirs(path: Path) -> None:
    """Creates missing directories with mode 0700 (existing ones are left as they are)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        # exist_ok: another export running at the same time (clients of one fleet share a
        # parent directory) may have just made it.
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # the umask must not widen it


def export_client_files(material: CertificateMaterial, ca_material: CertificateMaterial | None,
                        out_dir: Path, name: str, *, pkcs12: bool, legacy_pkcs12: bool,
                        password: Sensitive[str] | None) -> list[Path]:
    """Writes the client files (see the module docstring) and returns their paths."""
    if material.private_key_pem is None:
        raise CertificateError(f"certificate {name!r} has no private key to export",
                               hint="an imported certificate needs files.private_key")
    if (pkcs12 or legacy_pkcs12) and password is None:
        raise CertificateError("a password for the PKCS#12 file is needed",
                               hint=f"set {P12_PASSWORD_ENV}")
    if ca_material is not None and f"{name}.crt" == CA_FILE_NAME:
        raise CertificateError(f"certificate {name!r} cannot be exported with its CA: both "
                               f"would be written to {CA_FILE_NAME}",
                               hint="rename the certificate in the stack")

    def content(file_name: str) -> tuple[bytes, int]:
        """The bytes and mode of one file: certificates 0644, keys and .p12 files 0600."""
        if file_name == f"{name}.crt":
            return material.full_chain_pem.encode("ascii"), 0o644
        if file_name == CA_FILE_NAME and ca_material is not None:
            return ca_material.full_chain_pem.encode("ascii"), 0o644
        if file_name == f"{name}.key":
            return pkcs8_pem(material.private_key()).encode("ascii"), 0o600
        assert password is not None
        legacy = file_name.endswith("-legacy.p12")
        return pkcs12_bytes(material, ca_material, password, legacy=legacy), 0o600

    # Every file's bytes first: a damaged key or a missing password writes nothing at all.
    files = [(file_name, *content(file_name))
             for file_name in exported_file_names(name, pkcs12=pkcs12,
                                                  legacy_pkcs12=legacy_pkcs12,
                                                  ca=ca_material is not None)]
    try:
        _make_dirs(out_dir)
        return write_all(out_dir, files)
    except OSError as exc:
        raise CertificateError(f"cannot write to {exc.filename or out_dir}: "
                               f"{exc.strerror or exc}") from None


def write_all(out_dir: Path, files: list[tuple[str, bytes, int]]) -> list[Path]:
    """Writes each (name, bytes, mode) to a temporary file in `out_dir`, then renames them all
    into place; when a temporary cannot be written, the others are removed and no existing file
    is touched. Returns the paths written, in order; raises OSError."""
    temporaries: list[tuple[Path, Path]] = []
    try:
        for file_name, data, mode in files:
            target = out_dir / file_name
            temporaries.append((write_temporary(target, data, mode), target))
    except BaseException:
        for tmp, _ in temporaries:
            tmp.unlink(missing_ok=True)
        raise
    try:
        for tmp, target in temporaries:
            os.replace(tmp, target)
    finally:
        for tmp, _ in temporaries:
            tmp.unlink(missing_ok=True)
    fsync_directory(out_dir)
    return [target for _, target in temporaries]


def export_from_spec(spec: CertificateSpec, base_dir: Path, material: CertificateMaterial,
                     ca_material: CertificateMaterial | None,
                     password: Sensitive[str] | None) -> list[Path]:
    """The stack's `export: {dir, pkcs12, legacy_pkcs12}` after apply (dir relative to the
    stack file's directory). Returns [] when the certificate has no export."""
    if spec.export is None:
        return []
    return export_client_files(material, ca_material, base_dir / spec.export.dir, spec.name,
                               pkcs12=spec.export.pkcs12,
                               legacy_pkcs12=spec.export.legacy_pkcs12, password=password)
