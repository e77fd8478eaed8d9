"""When a certificate must be renewed: expired, not valid yet, or within renew_before_days."""

from __future__ import annotations

from datetime import datetime, timedelta

from mtlsform.pki.facts import iso_utc
from mtlsform.pki.material import CertificateMaterial


def renewal_reason(material: CertificateMaterial, renew_before_days: int,
                   now: datetime) -> str | None:
    """Why the certificate must be renewed now (the plan's action_reason text), else None."""
    if now >= material.not_after:
        return (f"expired on {iso_utc(material.not_after)} "
                f"(renew_before_days {renew_before_days})")
    if now < material.not_before:
        return f"not valid before {iso_utc(material.not_before)}"
    if now >= material.not_after - timedelta(days=renew_before_days):
        days = (material.not_after - now).days
        return (f"expires on {iso_utc(material.not_after)} ({days} days left, "
                f"renew_before_days {renew_before_days})")
    return None


def needs_renewal(material: CertificateMaterial, renew_before_days: int, now: datetime) -> bool:
    """Whether the certificate must be regenerated (see renewal_reason for the why)."""
    return renewal_reason(material, renew_before_days, now) is not None
