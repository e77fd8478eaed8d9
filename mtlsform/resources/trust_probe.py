"""The check after a listener (SNI off) or a domain (SNI on) is switched to another client-CA
upload: a real mutual-TLS handshake with a client certificate of each CA the upload should
trust must be answered, else the entry is switched back and the change fails (a client-CA
rollover must lock no client out).

The client certificates are made for the probe from the CAs' keys in the state (one day,
never written anywhere but a private temporary folder for the handshake). Like the rotation
check (presenting.py) it runs against the emulator whenever a data plane serves its world, and
against the cloud with `--verify-rotation`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mtlsform.addresses import Address
from mtlsform.errors import ProviderError
from mtlsform.resources.base import ApplyContext
from mtlsform.resources.certificate import certificate_address
from mtlsform.resources.rollover import trusted_keys
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Subject, Tls

PROBE_WAIT = 10.0  # seconds a switched entry has to accept every trusted CA's client
PROBE_POLL = 0.1
# An apply dated this far from the clock (`apply --at`, a rehearsal) issues certificates a
# handshake now would judge not valid (yet): no probe then.
REHEARSAL = timedelta(minutes=5)


class ClientLockedOut(ProviderError):
    """After a switch of client CA, the entry refused a client certificate of a CA it should
    trust (or, with --verify-rotation, could not be reached): it was switched back."""


PROBE_SUBJECT = Subject(common_name="mtlsform-probe")


@dataclass(frozen=True)
class _ProbeSpec:
    """A short-lived client certificate for the probe (pki.spec.CertificateSpec)."""

    name: str = "mtlsform-probe"
    type: str = "client"
    subject: Subject = PROBE_SUBJECT
    key: str = "ecdsa-p256"
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    validity_days: int = 1
    path_length: int | None = None
    files: None = None
    export: None = None


def probe_clients(ctx: ApplyContext, ca: Mapping[str, Any]) -> list[tuple[str, str,
                                                                         Sensitive[str]]]:
    """(CA common name, client certificate PEM, its key) for each CA the record trusts."""
    from mtlsform.pki import CertificateMaterial, generate_certificate

    found = []
    for pem, key in trusted_keys(ca):
        issuer = CertificateMaterial.from_pem(pem, "", key if isinstance(key, Sensitive)
                                              else Sensitive(str(key)))
        client = generate_certificate(_ProbeSpec(), issuer, now=ctx.now)
        assert client.private_key_pem is not None  # generated material has its key
        found.append((issuer.subject_cn, client.certificate_pem, client.private_key_pem))
    return found


def confirm_trusted(ctx: ApplyContext, address: Address, *, tls: Tls | None,
                    load_balancer_id: str, listener_id: str, port: int, server_name: str | None,
                    prior: Mapping[str, Any], values: Mapping[str, Any],
                    switch_back: Callable[[], None]) -> None:
    """After `address` moved from `prior`'s client CA upload to `values'`, confirms that a
    client of each CA the new upload trusts is let in; else calls `switch_back` and raises
    ClientLockedOut."""
    new_id = values.get("client_ca_id")
    if ctx.verify_rotation == "off" or not new_id or new_id == prior.get("client_ca_id") \
            or tls is None or tls.client_ca is None:
        return
    upload = ctx.lookup(Address(SSL_CERTIFICATE.name, tls.client_ca)) or {}
    ca = ctx.lookup(certificate_address(tls.client_ca))
    if upload.get("id") != new_id or ca is None:
        return  # not the upload we made: nothing to probe with
    if abs(ctx.now - datetime.now(UTC)) > REHEARSAL:
        if ctx.note is not None:  # (`apply --at`: what it issues is not valid now)
            ctx.note(f"{address} was not probed with client certificates: the apply is dated "
                     f"{ctx.now:%Y-%m-%dT%H:%M:%SZ}, and a handshake is judged now")
        return
    clients = probe_clients(ctx, ca)
    refused = _refused(ctx, load_balancer_id, listener_id, port, server_name, clients,
                       retry_unreached=ctx.verify_rotation == "required")
    if refused is None:
        return  # no data plane reachable from here
    if not refused:
        if ctx.note is not None:
            names = ", ".join(repr(name) for name, _, _ in clients)
            ctx.note(f"{address} lets in a client certificate of each trusted CA ({names}).")
        return
    old_id = prior.get("client_ca_id")
    if old_id:
        switch_back()
    back = f": switched back to {old_id}" if old_id else ""
    raise ClientLockedOut(
        f"{address} refused a client certificate of {', '.join(map(repr, refused))} after the "
        f"switch to client CA upload {new_id}{back}",
        code="ClientCertificateRefused",
        hint="the next apply tries again; check that the cloud trusts every certificate of a "
             "CA upload (docs/certificates.md, client-CA rollover)")


def _refused(ctx: ApplyContext, load_balancer_id: str, listener_id: str, port: int,
             server_name: str | None,
             clients: list[tuple[str, str, Sensitive[str]]], *,
             retry_unreached: bool) -> list[str] | None:
    """The CAs whose client is still refused when PROBE_WAIT ends ([] when all are let in),
    or None when the entry cannot be reached (and `retry_unreached` is off)."""
    # a data plane that follows the world a moment later may refuse at first (see
    # Provider.presentation_wait: 0 when one answer is final)
    deadline = time.monotonic() + min(PROBE_WAIT, ctx.provider.presentation_wait())
    pending = list(clients)
    while True:
        still = []
        for client in pending:
            _, pem, key = client
            accepted = ctx.provider.client_accepted(load_balancer_id, listener_id, port,
                                                    server_name, pem, key)
            if accepted is None and not retry_unreached:
                return None
            if not accepted:
                still.append(client)
        pending = still
        if not pending or time.monotonic() >= deadline:
            return [name for name, _, _ in pending]
        time.sleep(PROBE_POLL)
