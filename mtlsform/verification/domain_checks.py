"""The checks of what a domain declares beyond its certificate and client CA:

- `without_sni`: a client that sends no SNI gets the listener's default domain's certificate
  (an SNI listener whose stack names its `default_domain` or declares `clients_without_sni`);
- `optional_client`: under `verify_client: optional` a request without a client certificate
  is answered by a bound backend, which is told it had none (`X-Client-Verify: NONE`, when
  the backend echoes what it received, as the emulator's demo backends do).
"""

from __future__ import annotations

from mtlsform.verification import spread
from mtlsform.verification.clients import ClientKit
from mtlsform.verification.model import (
    DEFAULT_DOMAIN,
    OPTIONAL_CLIENT,
    CheckResult,
    Entry,
    Status,
)
from mtlsform.verification.tlsprobe import Outcome, handshake

VERIFY_HEADER = "x-client-verify"


def _result(entry: Entry, check: str, status: Status, reason: str, **details: object) -> \
        CheckResult:
    return CheckResult(entry.listener, entry.domain, check, status, reason,
                       details=dict(details))


def without_sni(entry: Entry, kit: ClientKit) -> CheckResult:
    """A handshake without SNI presents this (the default) domain's certificate."""
    expected = entry.server
    identity = entry.client if entry.mutual else None
    presented = handshake(entry.host, entry.port, None, kit.context(identity))
    if presented.der is None and identity is not None:
        presented = handshake(entry.host, entry.port, None, kit.context(None))
    if presented.der is None:
        detail = presented.failure.detail if presented.failure else "no certificate"
        return _result(entry, DEFAULT_DOMAIN, "fail",
                       f"no TLS handshake without SNI with {entry.where}: {detail}")
    fingerprint = presented.fingerprint or ""
    if expected is None:
        return _result(entry, DEFAULT_DOMAIN, "skip",
                       "the state records no server certificate for the default domain")
    if fingerprint != expected.fingerprint:
        return _result(entry, DEFAULT_DOMAIN, "fail",
                       f"a client without SNI got certificate sha256 {fingerprint[:16]}…, not "
                       f"{expected.name} of the default domain {entry.domain} "
                       f"({expected.fingerprint[:16]}…): another domain is the default",
                       presented=fingerprint, expected=expected.fingerprint)
    return _result(entry, DEFAULT_DOMAIN, "pass",
                   f"a client without SNI gets {expected.name} of the default domain "
                   f"{entry.domain}", presented=fingerprint)


def optional_client(entry: Entry, outcome: Outcome) -> CheckResult:
    """Judges the answer to a request made without a client certificate."""
    answer = outcome.answer
    if answer is None:
        return _result(entry, OPTIONAL_CLIENT, "fail",
                       f"a request without a client certificate was refused ({outcome.detail}), "
                       "but the stack says verify_client: optional", outcome=outcome.kind)
    who = spread.identify(answer, [b for r in entry.routes for b in r.backends])
    if not who.known:
        return _result(entry, OPTIONAL_CLIENT, "fail",
                       f"a request without a client certificate got {answer.describe()}, not "
                       "an answer from a bound backend", answer_status=answer.status)
    text = answer.body[:4096].decode("utf-8", "replace").lower()
    seen = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith(VERIFY_HEADER + ":")), None)
    if seen is not None and seen != "none":
        return _result(entry, OPTIONAL_CLIENT, "fail",
                       f"the backend was told {VERIFY_HEADER}: {seen} for a client without a "
                       "certificate", verify=seen)
    told = (f", told {VERIFY_HEADER}: NONE" if seen is not None
            else " (the backend does not echo what it was told)")
    return _result(entry, OPTIONAL_CLIENT, "pass",
                   f"let through to {who.backend or who.claim}{told}", verify=seen)
