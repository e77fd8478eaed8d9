"""Import of certificates from files: read, check they fit together, normalise for upload.

`read_imported` collects every problem (the stack checks turn them into diagnostics at the
offending `files.*` key); `load_imported` is the engine's form that raises on the first one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from mtlsform.errors import CertificateError
from mtlsform.pki.facts import facts_of, iso_utc
from mtlsform.pki.keys import same_public_key
from mtlsform.pki.material import CertificateMaterial
from mtlsform.pki.pem import PemProblem, load_certificates, load_private_key
from mtlsform.pki.spec import CertificateSpec

# What a certificate of each declared type must allow in its extendedKeyUsage, if it has one.
_REQUIRED_EKU = {"server": "serverAuth", "client": "clientAuth"}


@dataclass(frozen=True)
class ImportProblem:
    """One problem with an imported certificate; `field` is the stack key it is reported at."""

    field: str  # "files", "files.certificate", "files.private_key" or "files.chain"
    code: str  # stable name: "der", "key-mismatch", "chain-order", "expired", ...
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"


@dataclass(frozen=True)
class ImportResult:
    """What could be read: the certificates (leaf first, then the chain), the key, problems."""

    certificates: tuple[x509.Certificate, ...] = ()
    chain_fields: tuple[str, ...] = ()  # for each certificate, the files.* key it came from
    key: Any | None = None
    problems: tuple[ImportProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return bool(self.certificates) and not any(p.severity == "error" for p in self.problems)

    def material(self) -> CertificateMaterial:
        leaf, *chain = self.certificates
        return CertificateMaterial.from_objects(leaf, chain, self.key)


def _cn(cert: x509.Certificate) -> str:
    cn = facts_of(cert).subject_cn
    return f'"{cn}"' if cn else f'"{cert.subject.rfc4514_string()}"'


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether `parent` signed `child` (names match and the signature verifies)."""
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def read_imported(spec: CertificateSpec, base_dir: Path, environ: Mapping[str, str], *,
                  now: datetime | None = None) -> ImportResult:
    """Reads and checks an imported certificate's files; never raises for bad input."""
    files = spec.files
    if files is None:
        raise ValueError(f"certificate {spec.name!r} is not imported")
    now = now or datetime.now(UTC)
    problems: list[ImportProblem] = []

    def problem(fld: str, exc: PemProblem) -> None:
        problems.append(ImportProblem(fld, exc.code, exc.message, exc.hint))

    cert_shown = str(files.certificate)
    leaf_read = True
    try:
        certs = load_certificates(base_dir / files.certificate, cert_shown)
    except PemProblem as exc:
        problem("files.certificate", exc)
        certs, leaf_read = [], False
    fields = ["files.certificate"] * len(certs)
    if files.chain is not None:
        try:
            chain = load_certificates(base_dir / files.chain, str(files.chain))
            certs += chain
            fields += ["files.chain"] * len(chain)
        except PemProblem as exc:
            problem("files.chain", exc)

    key = None
    if files.private_key is not None:
        try:
            key = load_private_key(base_dir / files.private_key, str(files.private_key),
                                   passphrase_env=files.passphrase_env, environ=environ)
        except PemProblem as exc:
            problem("files.private_key", exc)
    elif spec.type == "server":
        problems.append(ImportProblem(
            "files", "key-missing",
            "an imported server certificate needs files.private_key",
            "the load balancer needs the server's private key to terminate TLS"))

    if not leaf_read:
        # The chain's first certificate is not the leaf: checking it as the leaf would only
        # report untrue problems (a CA, a key that does not match, no serverAuth).
        return ImportResult((), (), key, tuple(problems))
    if certs:
        leaf = certs[0]
        if key is not None and not same_public_key(key.public_key(), leaf.public_key()):
            problems.append(ImportProblem(
                "files.private_key", "key-mismatch",
                f"{files.private_key} does not match the certificate in {cert_shown}",
                "compare `openssl x509 -noout -pubkey -in CERT` with "
                "`openssl pkey -pubout -in KEY`: they must be equal"))
        problems += _chain_order(certs, fields, spec)
        problems += _validity(certs, fields, spec, now)
        problems += _type_fit(leaf, spec, cert_shown)
    return ImportResult(tuple(certs), tuple(fields), key, tuple(problems))


def load_imported(spec: CertificateSpec, base_dir: Path, environ: Mapping[str, str] | None = None,
                  *, now: datetime | None = None) -> CertificateMaterial:
    """The material of an imported certificate, normalised (canonical PEM, traditional key).

    Raises CertificateError with the first problem's message (`certificates.NAME.files.x: ...`).
    """
    result = read_imported(spec, base_dir, os.environ if environ is None else environ, now=now)
    for p in result.problems:
        if p.severity == "error":
            raise CertificateError(f"certificates.{spec.name}.{p.field}: {p.message}",
                                   hint=p.hint)
    return result.material()


def _chain_order(certs: list[x509.Certificate], fields: list[str],
                 spec: CertificateSpec) -> list[ImportProblem]:
    files = spec.files
    assert files is not None
    for i in range(len(certs) - 1):
        child, parent = certs[i], certs[i + 1]
        if not issued_by(child, parent):
            shown = files.chain if fields[i + 1] == "files.chain" else files.certificate
            return [ImportProblem(
                fields[i + 1], "chain-order",
                f"{shown}: the chain is not in order: {_cn(child)} is not issued by the "
                f"certificate after it, {_cn(parent)}",
                "order the chain leaf first, then the certificate that issued it, and so on "
                "towards the root")]
    return []


def _validity(certs: list[x509.Certificate], fields: list[str], spec: CertificateSpec,
              now: datetime) -> list[ImportProblem]:
    files = spec.files
    assert files is not None
    problems = []
    for i, cert in enumerate(certs):
        shown = files.chain if fields[i] == "files.chain" else files.certificate
        which = "the certificate" if i == 0 else f"chain certificate {_cn(cert)}"
        if now < cert.not_valid_before_utc:
            problems.append(ImportProblem(
                fields[i], "not-yet-valid",
                f"{shown}: {which} is not valid yet (not before "
                f"{iso_utc(cert.not_valid_before_utc)})",
                "check the clock of this machine, or wait until the certificate starts"))
        elif now >= cert.not_valid_after_utc:
            problems.append(ImportProblem(
                fields[i], "expired",
                f"{shown}: {which} expired on {iso_utc(cert.not_valid_after_utc)}",
                "replace the files with a renewed certificate"))
    return problems


def _type_fit(leaf: x509.Certificate, spec: CertificateSpec, shown: str) -> list[ImportProblem]:
    facts = facts_of(leaf)
    if spec.type == "ca":
        if not facts.is_ca:
            return [ImportProblem(
                "files.certificate", "not-a-ca",
                f"{shown} is not a CA certificate (it lacks basicConstraints CA:TRUE), but the "
                "stack declares type: ca",
                "a CA certificate is needed to verify client certificates or sign others")]
        return []
    if facts.is_ca:
        return [ImportProblem(
            "files.certificate", "is-a-ca",
            f"{shown} is a CA certificate, but the stack declares type: {spec.type}",
            "declare it as type: ca, or import the leaf certificate instead")]
    needed = _REQUIRED_EKU[spec.type]
    ekus = facts.ekus
    if ekus is not None and needed not in ekus and "anyExtendedKeyUsage" not in ekus:
        return [ImportProblem(
            "files.certificate", "eku-mismatch",
            f"{shown}: the certificate's extended key usage ({', '.join(ekus) or 'empty'}) "
            f"does not include {needed}, which a {spec.type} certificate needs",
            f"use a certificate issued for {needed}, or declare the type it was issued for")]
    return []
