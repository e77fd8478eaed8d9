"""The client side of `verify`: real TLS connections and one HTTP/1.1 request each, as values.

Each probe opens a new TCP connection to the listener's address, sends the domain as SNI (and
as Host), presents a client certificate or none, and reports what happened as an `Outcome`:
an HTTP answer, a refusal (with the TLS alert the server sent: with TLS 1.3 a refused client
certificate shows only on the first read, after the client's side of the handshake finished),
a connection closed without an answer, or no connection at all. Requests do not verify the
server certificate (check (a) does), so one problem does not hide the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from typing import Literal

from mtlsform.verification.model import ClientIdentity, ServerExpectation

TIMEOUT = 10.0
BODY_LIMIT = 64 * 1024
USER_AGENT = "mtlsform-verify"

# untrusted: our own verification of the server certificate failed (verifying contexts only)
OutcomeKind = Literal["answered", "refused", "closed", "unreachable", "untrusted", "error"]
_ALERT = re.compile(r"(?:SSLV3|TLSV1|TLSV1_\d|TLSV13)_ALERT_([A-Z0-9_]+)")


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP response: status, headers (lower-case names) and the start of the body."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def first_line(self) -> str:
        text = self.body[:512].decode("utf-8", "replace")
        return text.splitlines()[0].strip() if text.strip() else ""

    def describe(self) -> str:
        line = self.first_line
        return f"{self.status} {self.reason}" + (f" ({line[:80]})" if line else "")


@dataclass(frozen=True)
class Outcome:
    """What one connection gave: an answer, or why there was none."""

    kind: OutcomeKind
    detail: str = ""
    answer: HttpAnswer | None = None
    alert: str | None = None  # the TLS alert the server sent, e.g. "unknown ca"
    local: str | None = None  # our address, "127.0.0.1:51234" (to find the server's log entry)

    @property
    def answered(self) -> bool:
        return self.answer is not None


def alert_of(exc: BaseException) -> str | None:
    """The TLS alert in an SSL error, as OpenSSL names it: `unknown ca`, `certificate required`."""
    text = f"{getattr(exc, 'reason', '') or ''} {exc}"
    match = _ALERT.search(text.upper())
    return match.group(1).lower().replace("_", " ") if match else None


def _pem_file(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
    return path


def _base_context(maximum: ssl.TLSVersion | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if maximum is not None:
        context.maximum_version = maximum
    context.set_alpn_protocols(["http/1.1"])
    return context


def _present(context: ssl.SSLContext, identity: ClientIdentity | None) -> None:
    if identity is None:
        return
    # ssl loads certificates and keys only from files: write them to a private temporary
    # folder (0700, files 0600) for as long as loading takes.
    with tempfile.TemporaryDirectory(prefix="mtlsform-verify-") as folder:
        cert = _pem_file(folder, "client.crt", identity.certificate_pem + identity.chain_pem)
        key = _pem_file(folder, "client.key", identity.private_key_pem.reveal())
        context.load_cert_chain(cert, key)


def request_context(identity: ClientIdentity | None,
                    maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context presenting `identity` (or nothing) and accepting any server certificate
    (`maximum`: the highest TLS version offered, default the newest)."""
    context = _base_context(maximum)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _present(context, identity)
    return context


def verifying_context(expected: ServerExpectation, identity: ClientIdentity | None,
                      maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that verifies the server against the stack's CA and the host name."""
    context = _base_context(maximum)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=expected.trust_pem)
    if expected.partial_chain:
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    _present(context, identity)
    return context


def _connect(host: str, port: int, timeout: float) -> tuple[socket.socket | None, Outcome | None]:
    try:
        return socket.create_connection((host, port), timeout=timeout), None
    except TimeoutError:
        return None, Outcome("unreachable", f"no answer from {_where(host, port)} within "
                             f"{timeout:g} s")
    except OSError as exc:
        return None, Outcome("unreachable",
                             f"cannot connect to {_where(host, port)}: {exc.strerror or exc}")


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _local(sock: socket.socket) -> str | None:
    with contextlib.suppress(OSError):
        address = sock.getsockname()
        return _where(address[0], address[1])
    return None


def _failure(exc: BaseException, local: str | None, during: str) -> Outcome:
    """Classifies an exception raised during the handshake or the exchange."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome("untrusted", str(exc.verify_message or exc.reason), local=local)
    alert = alert_of(exc) if isinstance(exc, ssl.SSLError) else None
    if alert is not None:
        return Outcome("refused", f"the server sent the TLS alert \"{alert}\" {during}",
                       alert=alert, local=local)
    if isinstance(exc, http.client.RemoteDisconnected | ssl.SSLEOFError | ConnectionError
                  | ssl.SSLZeroReturnError):
        return Outcome("closed", f"the server closed the connection {during} without an answer",
                       local=local)
    if isinstance(exc, TimeoutError):
        return Outcome("error", f"no answer within the time limit {during}", local=local)
    if isinstance(exc, ssl.SSLError):
        return Outcome("error", f"TLS error {during}: {exc.reason or exc}", local=local)
    if isinstance(exc, http.client.HTTPException):
        return Outcome("error", f"not an HTTP answer {during}: {type(exc).__name__}", local=local)
    return Outcome("error", f"{type(exc).__name__} {during}: {exc}", local=local)


def request(host: str, port: int, server_name: str, path: str, context: ssl.SSLContext, *,
            timeout: float = TIMEOUT) -> Outcome:
    """One GET `path` with SNI and Host `server_name` on a new connection."""
    raw, failed = _connect(host, port, timeout)
    if raw is None:
        assert failed is not None
        return failed
    local = _local(raw)
    try:
        try:
            tls = context.wrap_socket(raw, server_hostname=server_name)
        except (OSError, ssl.SSLError) as exc:
            return _failure(exc, local, "during the handshake")
        with tls:
            head = (f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\n"
                    f"User-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n")
            try:
                tls.sendall(head.encode("ascii"))
                response = http.client.HTTPResponse(tls, method="GET")
                response.begin()
                body = response.read(BODY_LIMIT)
            except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
                return _failure(exc, local, "after the handshake")
            headers = {name.lower(): value for name, value in response.getheaders()}
            answer = HttpAnswer(response.status, response.reason, headers, body)
            return Outcome("answered", answer.describe(), answer=answer, local=local)
    finally:
        raw.close()


@dataclass(frozen=True)
class Presented:
    """The server certificate a handshake showed (DER and SHA-256), or why there was none."""

    der: bytes | None
    failure: Outcome | None = None

    @property
    def fingerprint(self) -> str | None:
        return hashlib.sha256(self.der).hexdigest() if self.der else None


def handshake(host: str, port: int, server_name: str | None, context: ssl.SSLContext, *,
              timeout: float = TIMEOUT) -> Presented:
    """A TLS handshake alone: the certificate the server presented for `server_name` (None:
    a client that sends no SNI)."""
    raw, failed = _connect(host, port, timeout)
    if raw is None:
        assert failed is not None
        return Presented(None, failed)
    local = _local(raw)
    try:
        try:
            tls = context.wrap_socket(raw, server_hostname=server_name)
        except (OSError, ssl.SSLError) as exc:
            return Presented(None, _failure(exc, local, "during the handshake"))
        with tls:
            der = tls.getpeercert(binary_form=True)
            return Presented(der)
    finally:
        raw.close()
