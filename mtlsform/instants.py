"""Instants given on the command line (`--at 2027-01-15`, `--at 2027-01-15T08:00:00Z`)."""

from __future__ import annotations

from datetime import UTC, datetime

from mtlsform.errors import InputError


def parse_instant(text: str, flag: str = "--at") -> datetime:
    """A date (midnight UTC) or an ISO 8601 date and time (UTC unless it says otherwise)."""
    cleaned = text.strip()
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{flag} expects a date like 2027-01-15 or 2027-01-15T08:00:00Z, "
                         f"not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
