"""The check after a listener (SNI off) or a domain (SNI on) is switched to a new certificate in
place: a real handshake must get the new one, else the entry is switched back and the change
fails (issue 11, rotation as a verified transaction).

The upload the entry leaves is deleted only after the switch succeeded (its delete depends on
it), so a failed check keeps it, and the entry's record keeps the old certificate ID: the state
stays accurate, and the next apply tries the rotation again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from mtlsform.addresses import Address
from mtlsform.errors import ProviderError
from mtlsform.resources.base import ApplyContext
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.stack.model import Tls

PRESENT_POLL = 0.1  # seconds between two handshakes while it still presents another one


class StillPresentsOld(ProviderError):
    """After a switch, the entry presented another certificate than the new one (or, with
    --verify-rotation, could not be reached): it was switched back."""


def server_name_for(domain: str | None) -> str | None:
    """A name to send in the handshake for a rule's domain (a wildcard gets a label)."""
    if not domain or domain.startswith("~"):
        return None  # a regular expression names no one host
    return f"mtlsform-check{domain[1:]}" if domain.startswith("*.") else domain


def short(fingerprint: str | None) -> str:
    return f"sha256 {fingerprint[:16]}" if fingerprint else "nothing"


def confirm_presented(ctx: ApplyContext, address: Address, *, tls: Tls | None,
                      load_balancer_id: str, listener_id: str, port: int,
                      server_name: str | None, prior: Mapping[str, Any],
                      values: Mapping[str, Any], switch_back: Callable[[], None]) -> None:
    """After `address` moved from `prior`'s certificate to `values'`, confirms a handshake
    gets the new one; on a mismatch calls `switch_back` and raises StillPresentsOld."""
    new_id = values.get("certificate_id")
    if ctx.verify_rotation == "off" or not new_id or new_id == prior.get("certificate_id") \
            or tls is None or tls.certificate is None:
        return
    upload = ctx.lookup(Address(SSL_CERTIFICATE.name, tls.certificate)) or {}
    expected = upload.get("certificate_fingerprint")
    if upload.get("id") != new_id or not isinstance(expected, str):
        return  # not the upload we made (nothing to compare with)
    presented = _presented(ctx, load_balancer_id, listener_id, port, server_name, expected,
                           retry_unreached=ctx.verify_rotation == "required")
    if presented == expected:
        if ctx.note is not None:
            ctx.note(f"{address} presents the new certificate ({short(expected)}).")
        return
    if presented is None and ctx.verify_rotation != "required":
        return  # no data plane reachable from here: nothing to confirm with
    old_id = prior.get("certificate_id")
    if not old_id:
        raise StillPresentsOld(
            f"{address} presents {short(presented)} after the switch to {new_id}, not the new "
            f"certificate ({short(expected)})", code="CertificateNotPresented")
    switch_back()
    what = (f"still presents {short(presented)}" if presented is not None
            else "could not be reached by a TLS handshake")
    raise StillPresentsOld(
        f"{address} {what} after the switch to {new_id} ({short(expected)}): switched back "
        f"to {old_id}; the old upload is kept",
        code="CertificateNotPresented",
        hint="the next apply tries the rotation again; check what serves the VIP")


def _presented(ctx: ApplyContext, load_balancer_id: str, listener_id: str, port: int,
               server_name: str | None, expected: str, *, retry_unreached: bool) -> str | None:
    """What the entry presents, asked again while it presents another certificate than
    `expected` (a data plane takes a moment to follow; with `retry_unreached`, while it cannot
    be reached too), for as long as the provider says its data plane may take."""
    deadline = time.monotonic() + ctx.provider.presentation_wait()
    while True:
        presented = ctx.provider.presented_certificate(load_balancer_id, listener_id, port,
                                                       server_name)
        if presented == expected or time.monotonic() >= deadline \
                or (presented is None and not retry_unreached):
            return presented
        time.sleep(PRESENT_POLL)
