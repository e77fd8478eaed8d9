"""The check of a dual-certificate domain: each of its server certificates is offered.

A server holding an RSA and an ECDSA certificate serves the one the client's offer can use.
Up to TLS 1.2 the offer is the client's cipher suites, which Python's ssl can narrow: one
handshake offering only ECDSA-authenticated suites (`aECDSA`) must get the ECDSA certificate,
one offering only RSA-authenticated suites (`aRSA`) the RSA one. (In TLS 1.3 the choice follows
the signature algorithms, which Python's ssl cannot narrow: a policy of TLS 1.3 only leaves
the check skipped.)
"""

from __future__ import annotations

import ssl

from mtlsform.verification.model import (
    DUAL_CERTIFICATES,
    CheckResult,
    ClientIdentity,
    Entry,
    ServerExpectation,
    Status,
)
from mtlsform.verification.tlsprobe import Presented, handshake, request_context

# The OpenSSL cipher string of the suites a certificate of each key algorithm can serve.
SUITES = {"rsa": "aRSA", "ecdsa": "aECDSA"}


def _result(entry: Entry, status: Status, reason: str, **details: object) -> CheckResult:
    return CheckResult(entry.listener, entry.domain, DUAL_CERTIFICATES, status, reason,
                       details=dict(details))


def _offering(suites: str, identity: ClientIdentity | None) -> ssl.SSLContext:
    context = request_context(identity, ssl.TLSVersion.TLSv1_2)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(suites)
    return context


def _presented(entry: Entry, expected: ServerExpectation) -> Presented:
    identity = entry.client if entry.mutual else None
    suites = SUITES[expected.key_algorithm]
    presented = handshake(entry.host, entry.port, entry.server_name,
                          _offering(suites, identity))
    if presented.der is None and identity is not None:  # a refused client certificate
        presented = handshake(entry.host, entry.port, entry.server_name,
                              _offering(suites, None))
    return presented


def dual_certificates(entry: Entry) -> CheckResult | None:
    """Each certificate of a dual-certificate domain, got by a client that can use only it;
    None when the domain has one certificate."""
    if len(entry.dual) < 2:
        return None
    if entry.protocols is not None and "TLSv1.2" not in entry.protocols:
        return _result(entry, "skip", "the domain's policy admits no TLS 1.2, and in TLS 1.3 "
                       "the certificate follows the signature algorithms, which this check "
                       "cannot narrow")
    unknown = [e.name for e in entry.dual if e.key_algorithm not in SUITES]
    if unknown:
        return _result(entry, "skip", f"no cipher suites select a certificate with the key of "
                       f"{', '.join(unknown)}")
    got: list[str] = []
    for expected in entry.dual:
        kind = expected.key_algorithm.upper()
        presented = _presented(entry, expected)
        if presented.der is None:
            detail = presented.failure.detail if presented.failure else "no certificate"
            return _result(entry, "fail", f"no TLS 1.2 handshake offering only {kind} suites "
                           f"with {entry.where}: {detail}; {expected.name} is not offered",
                           certificate=expected.name)
        if presented.fingerprint != expected.fingerprint:
            return _result(entry, "fail",
                           f"a client that accepts only {kind} got sha256 "
                           f"{(presented.fingerprint or '')[:16]}…, not {expected.name} "
                           f"({expected.fingerprint[:16]}…): {expected.name} is not offered",
                           certificate=expected.name, presented=presented.fingerprint,
                           expected=expected.fingerprint)
        got.append(f"{kind} {expected.name}")
    return _result(entry, "pass", "a client gets the certificate its offer can use: "
                   + ", ".join(got), certificates=[e.name for e in entry.dual])
