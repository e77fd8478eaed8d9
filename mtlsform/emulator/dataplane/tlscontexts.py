"""TLS on the listening side: server contexts from PEM, and what a handshake tells us.

- `TlsContextCache` builds one `ssl.SSLContext` per `TlsPolicy` (server certificate + key, and
  in MUTUAL mode the client CA with CERT_REQUIRED, or CERT_OPTIONAL when SSLVerifyClient is
  OPTIONAL), reusing it while the policy is unchanged. Python loads keys only from files, so
  the key passes through a 0600 file in a private 0700 directory, removed at once.
- `describe_handshake_error` turns a failed handshake into a short reason people understand
  (no client certificate, unknown CA, expired, wrong key usage...) and the OpenSSL detail.
- `ClientCertificate.from_ssl_object` reads the verified client certificate: subject, issuer,
  serial and SHA-256 fingerprint.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import warnings
from dataclasses import dataclass

from mtlsform.emulator.dataplane.config import VERIFY_OPTIONAL, TlsPolicy
from mtlsform.sensitive import Sensitive

# OpenSSL X509_V_ERR_* codes (x509_vfy.h) grouped by what they mean to a user.
_UNKNOWN_CA = {2, 18, 19, 20, 21, 27, 28}
_EXPIRED = {10, 12}
_NOT_YET_VALID = {9, 11}
_PURPOSE = {26, 39}  # invalid purpose (EKU), key usage without digitalSignature
_REVOKED = {23}
_SIGNATURE = {4, 6, 7, 8}


class TlsMaterialError(Exception):
    """A certificate or key could not be loaded; the message never holds key material."""


_VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
             "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_LEGACY = ("TLSv1", "TLSv1.1")


def apply_protocols(context: ssl.SSLContext, protocols: tuple[str, ...],
                    ciphers: str | None) -> None:
    """The versions (lowest to highest named) and the TLS 1.2-and-older cipher list of an
    nginx `ssl_protocols` / `ssl_ciphers` pair. OpenSSL 3 refuses TLS 1.0 and 1.1 above
    security level 0, so a policy admitting them lowers it, as CLB's default does."""
    versions = sorted(_VERSIONS[name] for name in protocols if name in _VERSIONS) or [
        ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
    with warnings.catch_warnings():  # TLSv1 and TLSv1_1 are deprecated names in Python
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = versions[0]
        context.maximum_version = versions[-1]
    legacy = any(name in _LEGACY for name in protocols)
    chosen = ciphers or "DEFAULT"
    context.set_ciphers(chosen + (":@SECLEVEL=0" if legacy else ""))


def build_server_context(policy: TlsPolicy) -> ssl.SSLContext:
    """A server-side context for `policy` (its versions and ciphers, ALPN http/1.1, and h2
    first when the domain has Http2 on)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        apply_protocols(context, policy.protocols, policy.ciphers)
    except ssl.SSLError:
        raise TlsMaterialError(f"no cipher of {policy.ciphers!r} is available") from None
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.set_alpn_protocols(["h2", "http/1.1"] if policy.http2 else ["http/1.1"])
    servers = [(policy.server_cert_pem, policy.server_key_pem), *policy.extra_servers]
    with tempfile.TemporaryDirectory(prefix="mtlsform-dp-") as folder:
        for index, (cert_pem, key_pem) in enumerate(servers):
            _load_server(context, folder, index, cert_pem, key_pem)
    if policy.mutual:
        if not policy.client_ca_pem:
            raise TlsMaterialError("MUTUAL mode without a client CA certificate")
        try:
            context.load_verify_locations(cadata=policy.client_ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise TlsMaterialError(
                f"cannot load the client CA certificate ({_ssl_reason(exc)})") from None
        optional = policy.verify_client == VERIFY_OPTIONAL
        context.verify_mode = ssl.CERT_OPTIONAL if optional else ssl.CERT_REQUIRED
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def _load_server(context: ssl.SSLContext, folder: str, index: int, cert_pem: str,
                 key_pem: Sensitive[str]) -> None:
    """One server certificate chain and key into `context` (a second one, of another key
    algorithm, is kept beside the first: OpenSSL holds one per algorithm)."""
    cert_path = os.path.join(folder, f"server-{index}.crt")
    key_path = os.path.join(folder, f"server-{index}.key")
    _write_private(cert_path, cert_pem)
    _write_private(key_path, key_pem.reveal())
    try:
        context.load_cert_chain(cert_path, key_path, password=_no_password)
    except (ssl.SSLError, ValueError, TypeError) as exc:
        which = "server certificate and key" if index == 0 else "second server certificate"
        raise TlsMaterialError(f"cannot load the {which} ({_ssl_reason(exc)})") from None
    finally:
        os.unlink(key_path)


def _no_password() -> bytes:
    # An encrypted key must fail to load instead of prompting on the terminal.
    raise ValueError("the private key is encrypted")


def _write_private(path: str, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _ssl_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).lower().replace("_", " ")
    return str(exc) or type(exc).__name__


class TlsContextCache:
    """One server context per policy fingerprint; unused ones are dropped by `retain`."""

    def __init__(self) -> None:
        self._contexts: dict[str, ssl.SSLContext] = {}

    def context_for(self, policy: TlsPolicy) -> ssl.SSLContext:
        key = policy.fingerprint()
        context = self._contexts.get(key)
        if context is None:
            context = build_server_context(policy)
            self._contexts[key] = context
        return context

    def retain(self, policies: list[TlsPolicy]) -> None:
        keep = {policy.fingerprint() for policy in policies}
        for key in list(self._contexts):
            if key not in keep:
                del self._contexts[key]


@dataclass(frozen=True)
class HandshakeFailure:
    """Why one handshake failed: a stable `reason` code, a sentence, and OpenSSL's words."""

    reason: str
    message: str
    detail: str


_SSL_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": ("no-client-certificate", "no client certificate"),
    "HTTP_REQUEST": ("not-tls", "plain HTTP sent to the HTTPS port"),
    "WRONG_VERSION_NUMBER": ("protocol", "not a TLS client hello or an unsupported version"),
    "UNSUPPORTED_PROTOCOL": ("protocol", "unsupported TLS version"),
    "NO_SHARED_CIPHER": ("protocol", "no cipher shared with the client"),
    "NO_PROTOCOLS_AVAILABLE": ("protocol", "no TLS version shared with the client"),
    "TLSV1_ALERT_UNKNOWN_CA": ("client-rejected-server-certificate",
                               "the client does not trust the server certificate (unknown CA)"),
    "SSLV3_ALERT_BAD_CERTIFICATE": ("client-rejected-server-certificate",
                                    "the client rejected the server certificate"),
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": ("client-rejected-server-certificate",
                                        "the client rejected the server certificate"),
}


def describe_handshake_error(exc: BaseException) -> HandshakeFailure:
    """A readable account of a server-side handshake failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        detail = exc.verify_message or str(exc)
        if code in _UNKNOWN_CA:
            return HandshakeFailure("unknown-ca", "client certificate from an unknown CA", detail)
        if code in _EXPIRED:
            return HandshakeFailure("expired", "expired client certificate", detail)
        if code in _NOT_YET_VALID:
            return HandshakeFailure("not-yet-valid", "client certificate not yet valid", detail)
        if code in _PURPOSE:
            return HandshakeFailure(
                "wrong-key-usage",
                "client certificate not valid for client authentication (wrong key usage)",
                detail)
        if code in _REVOKED:
            return HandshakeFailure("revoked", "revoked client certificate", detail)
        if code in _SIGNATURE:
            return HandshakeFailure("bad-signature", "client certificate signature invalid",
                                    detail)
        return HandshakeFailure("bad-certificate", "client certificate rejected", detail)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        failure, message = _SSL_REASONS.get(
            reason, ("tls-error", reason.lower().replace("_", " ") or "TLS error"))
        return HandshakeFailure(failure, message, reason or str(exc))
    if isinstance(exc, TimeoutError):
        return HandshakeFailure("timeout", "handshake timed out", "no ClientHello or no reply")
    if isinstance(exc, ConnectionError | EOFError):
        return HandshakeFailure("closed", "client closed the connection during the handshake",
                                type(exc).__name__)
    return HandshakeFailure("error", "handshake failed", type(exc).__name__)


@dataclass(frozen=True)
class ClientCertificate:
    """The verified client certificate of a connection, as forwarded to backends."""

    subject: str
    issuer: str
    serial: str
    fingerprint_sha256: str
    not_after: str

    @classmethod
    def from_ssl_object(cls, ssl_object: ssl.SSLObject | None) -> ClientCertificate | None:
        """The peer certificate if one was sent and verified, else None."""
        if ssl_object is None or ssl_object.context.verify_mode == ssl.CERT_NONE:
            return None
        der = ssl_object.getpeercert(binary_form=True)
        if not der:
            return None
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        cert = x509.load_der_x509_certificate(der)
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial=format(cert.serial_number, "x"),
            fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
            not_after=cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
