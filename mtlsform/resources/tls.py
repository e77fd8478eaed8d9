"""TLS attributes shared by listeners (SNI off) and rules (SNI on): mode and certificate IDs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtlsform.addresses import Address
from mtlsform.providers.base import CertificateBinding
from mtlsform.references import Ref
from mtlsform.resources.shape import nullable, optional
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.stack.model import Tls

TLS_ATTRIBUTES = ("ssl_mode", "certificate_id", "client_ca_id", "verify_client",
                  "extra_certificate_ids")
# Dual certificates are rare: the attribute is there only when it holds some, so that plans
# and states of single-certificate entries do not show it (`ResourceType.absent_as_none`).
DUAL = "extra_certificate_ids"
_NO_TLS = dict.fromkeys(name for name in TLS_ATTRIBUTES if name != DUAL)
# Their shape in the state (records older than verify_client or dual certificates lack them).
TLS_RECORDED: dict[str, Any] = {name: nullable(str) for name in TLS_ATTRIBUTES}
TLS_RECORDED["verify_client"] = optional(nullable(str))
TLS_RECORDED["extra_certificate_ids"] = optional(nullable([str]))


def tls_config(tls: Tls | None) -> dict[str, Any]:
    """The TLS attributes of a listener or rule; all None when it carries no certificate."""
    if tls is None or tls.certificate is None:
        return dict(_NO_TLS)
    mutual = tls.mode == "mutual"
    attrs: dict[str, Any] = {
        "ssl_mode": "MUTUAL" if mutual else "UNIDIRECTIONAL",
        "certificate_id": Ref(Address(SSL_CERTIFICATE.name, tls.certificate), "id"),
        "client_ca_id": (
            Ref(Address(SSL_CERTIFICATE.name, tls.client_ca), "id")
            if mutual and tls.client_ca else None
        ),
        # SSLVerifyClient: only meaningful (and only read back) in mutual mode.
        "verify_client": (
            ("OPTIONAL" if tls.verify_client == "optional" else "ON") if mutual else None
        ),
    }
    if tls.extra_certificates:  # dual certificates (MultiCertInfo): those after the first
        attrs[DUAL] = [Ref(Address(SSL_CERTIFICATE.name, name), "id")
                       for name in tls.extra_certificates]
    return attrs


def binding(values: Mapping[str, Any]) -> CertificateBinding | None:
    if not values.get("certificate_id"):
        return None
    return CertificateBinding(
        ssl_mode=values["ssl_mode"],
        certificate_id=values["certificate_id"],
        client_ca_id=values.get("client_ca_id"),
        verify_client="OPTIONAL" if values.get("verify_client") == "OPTIONAL" else "ON",
        extra_certificate_ids=tuple(values.get("extra_certificate_ids") or ()),
    )


def binding_attributes(cert: CertificateBinding | None) -> dict[str, Any]:
    if cert is None:
        return dict(_NO_TLS)
    attrs: dict[str, Any] = {
        "ssl_mode": cert.ssl_mode,
        "certificate_id": cert.certificate_id,
        "client_ca_id": cert.client_ca_id if cert.ssl_mode == "MUTUAL" else None,
        "verify_client": cert.verify_client if cert.ssl_mode == "MUTUAL" else None,
    }
    if cert.extra_certificate_ids:
        attrs[DUAL] = list(cert.extra_certificate_ids)
    return attrs


def tls_changed(changed: Sequence[str]) -> bool:
    return any(name in TLS_ATTRIBUTES for name in changed)
