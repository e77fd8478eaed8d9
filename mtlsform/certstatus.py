"""What `mtlsform certs status` reports: every certificate of a stack, where it is used, when
it expires and how many days are left at an instant, and whether it is inside its window.

Rows are built from the stack and the recorded state; the cloud is read only when asked
(`uploads_seen`: the uploads that exist, by ID). The three renderings (text, JSON, Prometheus
text format for node_exporter's textfile collector) read the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mtlsform.addresses import Address
from mtlsform.pki.facts import iso_utc, parse_iso_utc
from mtlsform.resources.certificate import CERTIFICATE
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.stack.model import Stack
from mtlsform.state.model import State

JSON_FORMAT = 1
DUE_EXIT_CODE = 2  # something is inside its window, expired, or missing

OK, DUE, EXPIRED, NOT_APPLIED, UPLOAD_MISSING = (
    "ok", "due", "expired", "not applied", "upload missing")


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # ca | server | client
    source: str  # generated | imported | existing (referenced by its certificate ID)
    subject: str
    not_after: datetime | None
    days_left: int | None
    window_days: int  # renew_before_days, or --warn-days
    status: str
    used_by: tuple[str, ...]
    upload_id: str | None

    @property
    def due(self) -> bool:
        return self.status != OK




def _uses(stack: Stack) -> dict[str, list[str]]:
    """certificate name -> where the stack uses it (listeners, SNI domains, issued certs)."""
    uses: dict[str, list[str]] = {name: [] for name in stack.certificates}
    for listener in stack.listeners.values():
        blocks = [(f"listener {listener.name}", listener.tls)] + [
            (f"listener {listener.name} domain {rule.domain}", rule.tls)
            for rule in listener.rules]
        for where, tls in blocks:
            if tls is None:
                continue
            for name in tls.servers:
                if name in uses:
                    uses[name].append(f"{where}: server certificate")
            if tls.client_ca in uses and tls.mode == "mutual":
                uses[tls.client_ca].append(f"{where}: client CA")
    for name, spec in stack.certificates.items():
        if spec.issuer in uses:
            uses[spec.issuer].append(f"issuer of {name}")
        if spec.export is not None:
            uses[name].append(f"exported to {spec.export.dir}")
    return {name: list(dict.fromkeys(found)) for name, found in uses.items()}


def upload_ids(state: State) -> list[str]:
    """The IDs of the uploads the state records (what `--refresh` asks the cloud about)."""
    return [str(record.attributes["id"]) for record in state.resources
            if record.address.type == SSL_CERTIFICATE.name and record.attributes.get("id")]


def status_rows(stack: Stack, state: State | None, at: datetime, *,
                warn_days: int | None = None,
                uploads_seen: Mapping[str, bool] | None = None) -> list[Row]:
    """One row per certificate of the stack, as of `at`. `uploads_seen` (upload ID -> exists
    in the cloud), when given, marks uploads the cloud no longer holds."""
    uses = _uses(stack)
    rows = []
    for name, spec in sorted(stack.certificates.items()):
        record = state.get(Address(CERTIFICATE.name, name)) if state is not None else None
        upload = state.get(Address(SSL_CERTIFICATE.name, name)) if state is not None else None
        upload_id = str(upload.attributes.get("id")) if upload is not None else None
        if spec.existing:  # referenced by its ID: its upload records the expiry it was read
            record = upload
        attrs = record.attributes if record is not None else {}
        not_after = parse_iso_utc(attrs["not_after"]) if attrs.get("not_after") else None
        window = spec.renew_before_days if warn_days is None else warn_days
        days = None if not_after is None else int((not_after - at).total_seconds() // 86400)
        if record is None or not_after is None:
            status = NOT_APPLIED
        elif at >= not_after:
            status = EXPIRED
        elif days is not None and days < window:
            status = DUE
        elif uploads_seen is not None and upload_id and not uploads_seen.get(upload_id, False):
            status = UPLOAD_MISSING
        else:
            status = OK
        subject = str(attrs.get("subject_cn") or (spec.subject.common_name if spec.subject
                                                   else ""))
        source = "existing" if spec.existing else "imported" if spec.imported else "generated"
        rows.append(Row(name=name, kind=spec.type, source=source, subject=subject,
                        not_after=not_after,
                        days_left=days, window_days=window, status=status,
                        used_by=tuple(uses[name]), upload_id=upload_id))
    return rows


def _when(moment: datetime | None) -> str:
    return iso_utc(moment) if moment is not None else "-"


def render_text(stack: Stack, rows: Sequence[Row], at: datetime) -> str:
    lines = [f"Certificates of stack {stack.name} as of {_when(at)}:", ""]
    for row in rows:
        left = "-" if row.days_left is None else f"{row.days_left} days left"
        lines.append(f"  {row.name} ({row.kind}, {row.source}): {row.status}, expires "
                     f"{_when(row.not_after)}, {left} (window {row.window_days} days)")
        if row.upload_id:
            lines.append(f"      uploaded as {row.upload_id}")
        for use in row.used_by:
            lines.append(f"      - {use}")
    due = [row.name for row in rows if row.due]
    lines.append("")
    lines.append(f"{len(due)} of {len(rows)} need attention: {', '.join(due)}." if due
                 else f"All {len(rows)} certificates are outside their windows.")
    return "\n".join(lines) + "\n"


def render_json(stack: Stack, rows: Sequence[Row], at: datetime) -> str:
    doc = {"format_version": JSON_FORMAT, "stack": stack.name, "at": _when(at),
           "due": any(row.due for row in rows),
           "certificates": [{
               "name": row.name, "kind": row.kind, "source": row.source,
               "subject": row.subject, "not_after": _when(row.not_after) if row.not_after
               else None, "days_left": row.days_left, "window_days": row.window_days,
               "status": row.status, "upload_id": row.upload_id,
               "used_by": list(row.used_by)} for row in rows]}
    return json.dumps(doc, indent=2) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_prometheus(stack: Stack, rows: Sequence[Row], at: datetime) -> str:
    """Prometheus text exposition format: gauges per certificate, labelled stack, name, kind."""
    families = (
        ("mtlsform_certificate_not_after_seconds", "When the certificate expires (Unix time).",
         lambda row: row.not_after.timestamp() if row.not_after is not None else None),
        ("mtlsform_certificate_days_left", "Whole days left before the certificate expires.",
         lambda row: row.days_left),
        ("mtlsform_certificate_due", "1 when the certificate is inside its window, expired, "
         "not applied or its upload is missing, else 0.", lambda row: int(row.due)),
    )
    lines = []
    for metric, helptext, value_of in families:
        lines.append(f"# HELP {metric} {helptext}")
        lines.append(f"# TYPE {metric} gauge")
        for row in rows:
            value = value_of(row)
            if value is None:
                continue
            labels = (f'stack="{_label(stack.name)}",name="{_label(row.name)}",'
                      f'kind="{_label(row.kind)}",source="{row.source}"')
            lines.append(f"{metric}{{{labels}}} {value}")
    return "\n".join(lines) + "\n"
