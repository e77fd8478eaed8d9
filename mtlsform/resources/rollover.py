"""The staged client-CA rollover: what a CA's record holds at each stage and how a plan and an
apply advance it (docs/certificates.md, "Client-CA rollover").

A listener or SNI domain trusts one CA upload (`CertCaId`), so a new CA is never swapped in at
once. The CA's own record carries the rollover, one stage per apply:

1. `issued`: the new CA is generated beside the old one (`next_*`); nothing else changes;
2. `trusting`: the CA's trust (`trust_pem`, `trust_fingerprint`) holds the old and the new
   root, so its upload is replaced by one holding both and every listener or domain trusting
   it is switched in place, then probed with a client certificate of each CA;
3. `reissued`: the new CA becomes the CA (its `fingerprint`), so every certificate it issued is
   reissued (and re-exported) from it; the old CA stays trusted, and its last client
   certificate's expiry is recorded (`retire_after`);
4. `retired`: once that date (or the stack's `retire` date) is reached, the trust holds the new
   root only: the upload is replaced again and the old one deleted when bound nowhere.

A stack starts one with `rollover:` on the CA; a client CA inside its renewal window starts one
by itself (its new CA has the same settings). The decision is pure (plan and apply share it);
the material is made at apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.errors import CertificateError
from mtlsform.references import UNKNOWN
from mtlsform.resources.base import ApplyContext, Attributes, Decision
from mtlsform.stack.model import Certificate, Stack

STAGE = "rollover_stage"
STAGES = ("issued", "trusting", "reissued", "retired")
SETTINGS = ("key", "subject", "validity_days")  # what a rollover may change
NEXT = "next_"
PREVIOUS = "previous_"
# What the record holds beside the material while a rollover runs (and after it).
RECORDED_NEXT = ("certificate_pem", "private_key_pem", "fingerprint", "not_after", "subject_cn")
# (the new key stays wrapped as sensitive in the state, and is never in a plan)
HIDDEN = frozenset({"trust_pem", "trust_fingerprint", "next_certificate_pem",
                    "previous_certificate_pem", "next_private_key_pem"})
SENSITIVE: frozenset[str] = frozenset()
_WHAT = {
    "issued": "issue the new CA {new} (the old CA {old} stays the only one trusted)",
    "trusting": "trust the old and the new CA together: upload one CA record holding both roots, "
                "switch every listener or domain that trusts {old} to it, and probe it with a "
                "client certificate of each CA",
    "reissued": "reissue and re-export every certificate {old} issued from the new CA {new}; "
                "the old CA stays trusted until it is retired",
    "retired": "retire the old CA: trust the new CA {new} only (a new upload), and delete the "
               "two-root upload once it is bound nowhere",
}


def stage_detail(stage: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> str:
    """`client-CA rollover stage N of 4: what it does`."""
    new = (desired.get("rollover") or desired).get("subject", {}).get("common_name")
    if stage == "retired" or (stage == "reissued" and current.get(NEXT + "subject_cn")):
        new = current.get(NEXT + "subject_cn") or current.get("subject_cn") or new
    old = current.get("subject_cn") if stage != "retired" else current.get(
        PREVIOUS + "subject_cn")
    text = _WHAT[stage].format(new=repr(new), old=repr(old))
    return f"client-CA rollover stage {STAGES.index(stage) + 1} of 4: {text}"


def trust_of(attrs: Mapping[str, Any]) -> str | None:
    """The fingerprint of what a CA's upload holds (a legacy record: its certificate)."""
    value = attrs.get("trust_fingerprint", attrs.get("fingerprint"))
    return value if isinstance(value, str) or value is UNKNOWN else None


def is_client_ca(stack: Stack, name: str) -> bool:
    """Whether clients' access hangs on this CA: a listener's or domain's client CA, or the
    issuer of a client certificate."""
    if any(c.type == "client" and c.issuer == name for c in stack.certificates.values()):
        return True
    for listener in stack.listeners.values():
        for tls in [listener.tls, *(rule.tls for rule in listener.rules)]:
            if tls is not None and tls.mode == "mutual" and tls.client_ca == name:
                return True
    return False


def rollover_config(cert: Certificate) -> dict[str, Any] | None:
    """The `rollover` attribute: the new CA's settings and when the old one retires."""
    if cert.rollover is None:
        return None
    rolled = cert.rolled()
    subject = vars(rolled.subject) if rolled.subject is not None else {}
    return {"key": rolled.key, "subject": {k: v for k, v in sorted(subject.items())
                                           if v is not None and k != "positions"},
            "validity_days": rolled.validity_days, "retire": cert.rollover.retire}


def effective(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """What a CA's record is compared with: once it holds the rollover's settings (from
    stage 3 on), the rolled settings; before, its own."""
    if current is not None and desired.get("rollover") is not None and _settings(
            current) == _settings(rolled_desired(desired)):
        return rolled_desired(desired)
    return desired


def _settings(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: attrs.get(name) for name in SETTINGS}


def rolled_desired(desired: Mapping[str, Any]) -> dict[str, Any]:
    """The desired attributes with the rollover's settings as the CA's own."""
    roll = desired.get("rollover")
    out = {k: v for k, v in desired.items() if k != "rollover"}
    if roll:
        out.update(_settings(roll))
    return out


def retire_due(current: Mapping[str, Any], desired: Mapping[str, Any],
               now: datetime) -> tuple[bool, str]:
    """Whether the old CA may be retired now, and why (or why not yet)."""
    from mtlsform.instants import parse_instant

    retire = (desired.get("rollover") or {}).get("retire", "auto")
    if retire != "auto":
        when = parse_instant(retire, "rollover.retire")
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if now >= when:
            return True, f"the stack's retire date {stamp} is reached"
        return False, f"the stack retires the old CA on {stamp}"
    last = current.get("retire_after")
    if not isinstance(last, str):
        return True, "no client certificate of the old CA was recorded"
    when = parse_instant(last, "retire_after")
    if now >= when:
        return True, f"the old CA's last client certificate expired on {last}"
    return False, f"the old CA's last client certificate expires on {last}"


def decide(desired: Mapping[str, Any], current: Mapping[str, Any] | None, generic: Decision,
           *, now: datetime, stack: Stack, address: Address,
           renewal: str | None) -> Decision | None:
    """The rollover's decision for a CA's record, or None when no rollover applies (the
    generic decision stands). `renewal` is why the CA must be renewed now, if it must."""
    spec = stack.certificates.get(address.name)
    if current is None or spec is None or spec.type != "ca" or spec.imported:
        return None
    stage = current.get(STAGE)
    if stage in STAGES[:2]:
        return _advance(STAGES[STAGES.index(stage) + 1], current, desired, generic)
    if stage == "reissued":
        due, why = retire_due(current, desired, now)
        if not due:
            return Decision(Action.NOOP, Reason.MATCHES,
                            detail=f"client-CA rollover waits at stage 3 of 4: {why}; stage 4 "
                            "(retire the old CA) follows then (plan --at that date shows it)")
        decision = _advance("retired", current, desired, generic)
        return Decision(decision.action, decision.reason, f"{why}: {decision.detail}",
                        changed=decision.changed)
    if desired.get("rollover") is not None:
        finished = stage == "retired" and _settings(current) == _settings(
            rolled_desired(desired))
        if not finished and _settings(current) == _settings(desired):
            return _advance("issued", current, desired, generic)  # same settings: a new key
        return None  # rolled over: the CA is compared as it is now
    if renewal is not None and desired.get("rollover") is None and is_client_ca(
            stack, address.name) and not generic.action.is_replace:
        decision = _advance("issued", current, desired, generic)
        return Decision(decision.action, Reason.ROLLOVER_EXPIRING,
                        f"{renewal}: renewed through a client-CA rollover, so no client is "
                        f"locked out; {decision.detail}", changed=decision.changed)
    return None


def _advance(to: str, current: Mapping[str, Any], desired: Mapping[str, Any],
             generic: Decision) -> Decision:
    changed = sorted({*generic.changed, STAGE} - {*SETTINGS, "rollover"})
    if generic.action is Action.UPDATE and "export" in generic.changed:
        changed.append("export")
    return Decision(Action.UPDATE, Reason.ROLLOVER, detail=stage_detail(to, current, desired),
                    changed=tuple(sorted(set(changed))))


def next_stage(current: Mapping[str, Any]) -> str:
    stage = current.get(STAGE)
    if stage in (None, "retired"):
        return "issued"
    return STAGES[STAGES.index(stage) + 1]


def planned(desired: Mapping[str, Any], current: Mapping[str, Any]) -> Attributes:
    """The record after its next stage, as far as the plan knows it."""
    to = next_stage(current)
    after: Attributes = {**current, **effective(desired, current), STAGE: to}
    if to == "issued":
        after.update({NEXT + "fingerprint": UNKNOWN, NEXT + "not_after": UNKNOWN})
    elif to == "trusting":
        after["trust_fingerprint"] = f"{trust_of(current)}+{current.get(NEXT + 'fingerprint')}"
    elif to == "reissued":
        after.update(_settings(rolled_desired(desired)))
        after.update({"fingerprint": current.get(NEXT + "fingerprint"),
                      "not_after": current.get(NEXT + "not_after"),
                      "subject_cn": current.get(NEXT + "subject_cn"),
                      "serial": UNKNOWN, "not_before": UNKNOWN, "retire_after": UNKNOWN,
                      PREVIOUS + "fingerprint": current.get("fingerprint")})
        for name in RECORDED_NEXT:
            after.pop(NEXT + name, None)
    else:
        after["trust_fingerprint"] = current.get("fingerprint")
    return after


def advance(ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
            values: Mapping[str, Any], issued_by: Sequence[Address]) -> Attributes:
    """Carries out the next stage on the CA's record (`issued_by`: the certificates the CA
    issues, whose client certificates date the old CA's retirement)."""
    from mtlsform.pki import CertificateMaterial, generate_certificate
    from mtlsform.pki.facts import iso_utc

    to = next_stage(prior)
    attrs: Attributes = {**prior, **{k: v for k, v in values.items() if k not in SETTINGS},
                         STAGE: to}
    spec = ctx.stack.certificates[address.name]
    if to == "issued":
        issuer = None
        if spec.issuer:
            issuer_attrs = ctx.lookup(Address(address.type, spec.issuer))
            if issuer_attrs is None:
                raise CertificateError(f"{address}: its issuer is not in the state")
            issuer = CertificateMaterial.from_state(issuer_attrs)
        material = generate_certificate(spec.rolled(), issuer, now=ctx.now).to_state()
        attrs.update({NEXT + name: material[name] for name in RECORDED_NEXT})
        for name in ("retire_after", PREVIOUS + "fingerprint", PREVIOUS + "certificate_pem",
                     PREVIOUS + "subject_cn"):
            attrs.pop(name, None)
    elif to == "trusting":
        attrs["trust_pem"] = _pem(prior).rstrip("\n") + "\n" + prior[NEXT + "certificate_pem"]
        attrs["trust_fingerprint"] = f"{trust_of(prior)}+{prior[NEXT + 'fingerprint']}"
    elif to == "reissued":
        _wait_for_trust(ctx, address)
        new = CertificateMaterial.from_pem(prior[NEXT + "certificate_pem"], "",
                                           prior[NEXT + "private_key_pem"])
        old_not_after = prior.get("not_after")
        expiries = [str(rec["not_after"]) for a in issued_by
                    if (rec := ctx.lookup(a)) is not None and rec.get("type") == "client"
                    and rec.get("issuer_fingerprint") == prior.get("fingerprint")]
        last = max(expiries) if expiries else None
        if last is not None and isinstance(old_not_after, str):
            last = min(last, old_not_after)  # nothing of it is valid after the CA itself
        attrs.update({PREVIOUS + "fingerprint": prior.get("fingerprint"),
                      PREVIOUS + "certificate_pem": prior.get("certificate_pem"),
                      PREVIOUS + "subject_cn": prior.get("subject_cn")})
        attrs.update(new.to_state())
        attrs.update(_settings(rolled_desired(values)))
        attrs["retire_after"] = last if last is not None else iso_utc(ctx.now)
        for name in RECORDED_NEXT:
            attrs.pop(NEXT + name, None)
    else:
        attrs["trust_pem"] = prior["certificate_pem"]
        attrs["trust_fingerprint"] = prior["fingerprint"]
        attrs.pop(PREVIOUS + "certificate_pem", None)
    return attrs


def _wait_for_trust(ctx: ApplyContext, address: Address) -> None:
    """Stage 3 reissues only once every listener or domain trusting the CA trusts both roots
    (a switch that failed its probe, retried in the same apply, must come first)."""
    from mtlsform.resources.listener import LISTENER
    from mtlsform.resources.rule import RULE
    from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE

    upload = ctx.lookup(Address(SSL_CERTIFICATE.name, address.name)) or {}
    behind = []
    for name, listener in ctx.stack.listeners.items():
        entries = [(Address(LISTENER.name, name), listener.tls)] + [
            (Address(RULE.name, name, rule.key), rule.tls) for rule in listener.rules]
        for entry, tls in entries:
            if tls is None or tls.mode != "mutual" or tls.client_ca != address.name:
                continue
            record = ctx.lookup(entry) or {}
            if record.get("client_ca_id") != upload.get("id"):
                behind.append(str(entry))
    if behind:
        raise CertificateError(
            f"{address}: client-CA rollover stage 3 (reissue) waits until {', '.join(behind)} "
            f"trust{'s' if len(behind) == 1 else ''} the old and the new CA; nothing was "
            "reissued", hint="run apply again: the switch comes first")


def _pem(attrs: Mapping[str, Any]) -> str:
    pem = attrs.get("trust_pem") or attrs["certificate_pem"]
    return str(pem)


def trusted_keys(attrs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The CA certificates of the record that have their key here (certificate PEM, key):
    what a probe issues a client certificate from, one per trusted CA."""
    found = [(str(attrs["certificate_pem"]), attrs.get("private_key_pem"))]
    if attrs.get(NEXT + "certificate_pem"):
        found.append((str(attrs[NEXT + "certificate_pem"]), attrs.get(NEXT + "private_key_pem")))
    return [(pem, key) for pem, key in found if key is not None]
