"""`certs inspect`: read certificate files (PEM bundles, DER, PKCS#12) and describe them.

Only certificates are described; private keys found in a file are skipped and never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from mtlsform.errors import CertificateError
from mtlsform.pki.export import P12_PASSWORD_ENV
from mtlsform.pki.facts import CertificateFacts, facts_of, iso_utc
from mtlsform.pki.pem import PemProblem, certificates_from_pem, parse_der_certificate, read_file
from mtlsform.sensitive import Sensitive

_P12_SUFFIXES = (".p12", ".pfx")


@dataclass(frozen=True)
class InspectedCertificate:
    """One certificate found in a file: where (file as given, 1-based index of count) and what."""

    file: str
    index: int
    count: int
    facts: CertificateFacts

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"file": self.file, "index": self.index, **self.facts.to_json(now)}


def _from_p12(data: bytes, shown: str,
              password: Callable[[], Sensitive[str]] | None) -> list[x509.Certificate]:
    try:  # a PKCS#12 without a password first, so no prompt is needed for it
        loaded = pkcs12.load_pkcs12(data, None)
    except ValueError:
        # cryptography gives one error for "not PKCS#12" and "needs a password".
        if password is None:
            raise CertificateError(
                f"{shown} is neither a PEM nor a DER certificate, nor a PKCS#12 file without a "
                "password", hint=f"if it is a PKCS#12 file, set {P12_PASSWORD_ENV}") from None
        try:
            secret = password()
        except CertificateError as exc:
            raise CertificateError(f"{shown}: {exc.message}", hint=exc.hint) from None
        try:
            loaded = pkcs12.load_pkcs12(data, secret.reveal().encode("utf-8"))
        except ValueError:
            raise CertificateError(
                f"{shown} is not a certificate file, or the PKCS#12 password does not open it",
                hint=f"check the file and {P12_PASSWORD_ENV}") from None
    certs = [loaded.cert.certificate] if loaded.cert is not None else []
    return certs + [c.certificate for c in loaded.additional_certs]


def read_certificates(path: Path, *, shown: str | None = None,
                      p12_password: Callable[[], Sensitive[str]] | None = None
                      ) -> list[x509.Certificate]:
    """The certificates in one file: a PEM bundle, one DER certificate or a PKCS#12 file."""
    shown = shown or str(path)
    try:
        data = read_file(path, shown)
        if b"-----BEGIN" in data:
            return certificates_from_pem(data, shown)
    except PemProblem as exc:
        raise CertificateError(exc.message, hint=exc.hint) from None
    if data[:1] == b"\x30":
        try:
            return [parse_der_certificate(data)]
        except ValueError:
            pass
    if path.suffix.lower() in _P12_SUFFIXES or data[:1] == b"\x30":
        certs = _from_p12(data, shown, p12_password)
        if certs:
            return certs
    raise CertificateError(f"{shown} holds no certificate",
                           hint='expected PEM ("-----BEGIN CERTIFICATE-----"), DER or PKCS#12')


def inspect_files(paths: Iterable[Path], *,
                  p12_password: Callable[[], Sensitive[str]] | None = None
                  ) -> list[InspectedCertificate]:
    """Facts of every certificate in the files, in order; CertificateError on the first bad file."""
    found = []
    for path in paths:
        certs = read_certificates(path, p12_password=p12_password)
        found += [InspectedCertificate(str(path), i + 1, len(certs), facts_of(c))
                  for i, c in enumerate(certs)]
    return found


def _validity(facts: CertificateFacts, now: datetime) -> str:
    if now < facts.not_before:
        return "not valid yet"
    if now >= facts.not_after:
        ago = (now - facts.not_after).days
        return f"EXPIRED {ago} day{'s' if ago != 1 else ''} ago"
    left = facts.days_left(now)
    return f"{left} day{'s' if left != 1 else ''} left"


def render_text(found: list[InspectedCertificate], now: datetime) -> str:
    """The human summary: one block per certificate, fields aligned, a blank line between."""
    blocks = []
    for item in found:
        f = item.facts
        title = item.file if item.count == 1 else f"{item.file} (certificate {item.index} of " \
                                                   f"{item.count})"
        if f.is_ca:
            ca = "yes" + (" (no path length limit)" if f.path_length is None
                          else f" (path length {f.path_length})")
        else:
            ca = "no"
        rows = [
            ("subject", f.subject or "(empty)"),
            ("issuer", f.issuer + (" (self-issued)" if f.self_issued else "")),
            ("serial", f.serial),
            ("SANs", ", ".join(f.sans) or "(none)"),
            ("key", f.key_type),
            ("key usage", ", ".join(f.key_usage) or "(none)"),
            ("EKUs", "(none)" if f.ekus is None else ", ".join(f.ekus) or "(empty)"),
            ("CA", ca),
            ("not before", iso_utc(f.not_before)),
            ("not after", f"{iso_utc(f.not_after)} ({_validity(f, now)})"),
            ("signature", f.signature_algorithm),
            ("sha256", f.fingerprint_sha256),
        ]
        blocks.append("\n".join([title] + [f"  {k + ':':<12}{v}" for k, v in rows]))
    return "\n\n".join(blocks) + "\n"
