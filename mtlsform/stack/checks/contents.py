"""Certificate content checks reported as stack diagnostics, for generated specs and imported
files alike (cryptography is needed, so they call `mtlsform.pki` lazily; pki knows nothing of
the stack).

The stack loader calls `check_certificates` after the schema and reference checks passed. It
reads imported files (so every import problem is reported at its `files.*` key) and checks
what the certificates say: common names, key types and sizes, usages, CA-ness, expiry.
cryptography is imported inside the functions so loading this module stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mtlsform.diagnostics import Diagnostic, error, warning
from mtlsform.stack.model import Certificate, Stack, Tls

if TYPE_CHECKING:
    from mtlsform.pki.facts import CertificateFacts

# Apple refuses TLS server certificates valid > 825 days; public CAs stop at 398. 397 fits both.
MAX_SERVER_VALIDITY_DAYS = 397
_EDDSA = ("ed25519", "ed448")


def _at(spec: Certificate, fld: str, severity: str, message: str,
        hint: str | None = None) -> Diagnostic:
    make = error if severity == "error" else warning
    return make(message, path=f"certificates.{spec.name}.{fld}",
                position=spec.positions.at(fld), hint=hint)


def _tls_uses(stack: Stack) -> Iterator[tuple[str, str, Tls]]:
    """(listener name, stack path of the tls block, tls) for listener and rule TLS blocks."""
    for lname, listener in stack.listeners.items():
        if listener.tls is not None:
            yield lname, f"listeners.{lname}.tls", listener.tls
        for i, rule in enumerate(listener.rules):
            if rule.tls is not None:
                yield lname, f"listeners.{lname}.rules[{i}].tls", rule.tls


def check_certificates(stack: Stack, *, now: datetime | None = None,
                       environ: Mapping[str, str] | None = None,
                       cross_checks: bool = True) -> list[Diagnostic]:
    """Content checks of the stack's certificates (generated specs and imported files).
    Without `cross_checks` only each certificate's own (for a stack with other errors: the
    checks between certificates and listeners could report what those errors caused)."""
    from mtlsform.pki.facts import facts_of
    from mtlsform.pki.importing import issued_by, read_imported

    now = now or datetime.now(UTC)
    environ = os.environ if environ is None else environ
    client_ca_users: dict[str, list[str]] = {}
    for lname, _path, tls in _tls_uses(stack):
        if tls.client_ca and tls.mode == "mutual":
            client_ca_users.setdefault(tls.client_ca, []).append(lname)

    diags: list[Diagnostic] = []
    facts: dict[str, CertificateFacts] = {}
    self_signed: set[str] = set()
    for name, spec in stack.certificates.items():
        if spec.existing:
            continue  # the SSL service holds it: nothing here to read
        if not spec.imported:
            diags += _generated_checks(spec)
            continue
        result = read_imported(spec, stack.directory, environ, now=now)
        for p in result.problems:
            hint = p.hint
            if p.code == "not-a-ca" and name in client_ca_users:
                users = sorted(set(client_ca_users[name]))
                who = (f"listener {users[0]!r} uses" if len(users) == 1 else
                       f"listeners {', '.join(repr(u) for u in users)} use")
                hint = (f"{who} it as client_ca: the load balancer could not verify client "
                        "certificates with it")
            diags.append(_at(spec, p.field, p.severity, p.message, hint))
        if result.certificates:
            chain_facts = [facts_of(c) for c in result.certificates]
            facts[name] = chain_facts[0]
            leaf = result.certificates[0]
            if chain_facts[0].self_issued and issued_by(leaf, leaf):
                self_signed.add(name)
            diags += _content_checks(spec, chain_facts, result.chain_fields, now)
    if cross_checks:
        diags += _common_name_clashes(stack, facts, self_signed)
        diags += _listener_checks(stack, facts)
    return diags


def _generated_checks(spec: Certificate) -> list[Diagnostic]:
    """Issuers, path lengths and fields per type are the stack's own checks (stack/checks)."""
    from mtlsform.pki.generate import name_as_san

    diags = []
    if spec.type == "server" and spec.validity_days > MAX_SERVER_VALIDITY_DAYS:
        diags.append(_validity_warning(spec, "validity_days", spec.validity_days))
    if (spec.type == "server" and spec.subject is not None and not spec.dns_names
            and not spec.ip_addresses and name_as_san(spec.subject.common_name) is None):
        diags.append(_at(
            spec, "subject.common_name", "error",
            f"server certificate {spec.name!r} would have no subject alternative name: its "
            f"common name {spec.subject.common_name!r} is not a DNS name or IP address, and "
            "dns_names and ip_addresses are empty",
            "add dns_names: clients match the host name against the SAN, not the common name"))
    return diags


def _validity_warning(spec: Certificate, fld: str, days: int) -> Diagnostic:
    return _at(
        spec, fld, "warning",
        f"server certificate valid for {days} days: Apple devices refuse TLS server "
        "certificates valid for more than 825 days, and public CAs stop at 398",
        f"use {MAX_SERVER_VALIDITY_DAYS} days or less")


def _content_checks(spec: Certificate, chain: list[CertificateFacts], fields: tuple[str, ...],
                    now: datetime) -> list[Diagnostic]:
    """Key types and sizes of every certificate, expiry and lifetime of the leaf."""
    diags = []
    for i, facts in enumerate(chain):
        which = "the certificate" if i == 0 else f'chain certificate "{facts.subject_cn}"'
        if facts.key_type in _EDDSA:
            diags.append(_at(
                spec, fields[i], "error",
                f"{which} has an {facts.key_type.capitalize()} key, which Tencent Cloud CLB "
                "does not accept (RSA and ECDSA only)",
                "issue the certificate with an RSA (2048 bits or more) or ECDSA P-256/P-384 key"))
        if facts.key_type.startswith("rsa-") and int(facts.key_type[4:]) < 2048:
            diags.append(_at(
                spec, fields[i], "error",
                f"{which} has a {facts.key_type[4:]}-bit RSA key; at least 2048 bits are "
                "required", "browsers and load balancers refuse shorter RSA keys; issue a new "
                            "certificate with rsa-2048 or larger"))
    leaf = chain[0]
    days_left = leaf.days_left(now)
    renew_from = leaf.not_after - timedelta(days=spec.renew_before_days)
    if leaf.not_before <= now < leaf.not_after and now >= renew_from:
        diags.append(_at(
            spec, "files.certificate", "warning",
            f"the certificate expires on {_date(leaf.not_after)} ({days_left} days left), "
            f"within renew_before_days ({spec.renew_before_days})",
            "replace the files with a renewed certificate before it expires"))
    # No lifetime warning for imported certificates: the user cannot change what was issued.
    return diags


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _common_name_clashes(stack: Stack, facts: Mapping[str, CertificateFacts],
                         self_signed: set[str]) -> list[Diagnostic]:
    """A leaf whose common name equals a CA's looks self-signed: clients refuse it.

    (A leaf that really is self-signed is left alone: its issuer is itself.)"""

    def cn_of(spec: Certificate) -> tuple[str, str]:
        if spec.imported:
            f = facts.get(spec.name)
            return (f.subject_cn if f else ""), "files.certificate"
        return (spec.subject.common_name if spec.subject else ""), "subject.common_name"

    cas: dict[str, str] = {}  # common name -> the first CA with it
    for spec in stack.certificates.values():
        cn, _ = cn_of(spec)
        if spec.type == "ca" and cn:
            cas.setdefault(cn, spec.name)
    diags = []
    for spec in stack.certificates.values():
        if spec.type == "ca":
            continue
        cn, fld = cn_of(spec)
        if not cn or spec.name in self_signed:
            continue
        if cn in cas:
            diags.append(_at(
                spec, fld, "error",
                f"common name {cn!r} is also the common name of CA certificate {cas[cn]!r}",
                "give the CA a distinct name (e.g. ending in \"CA\"): a certificate whose "
                "subject matches its issuer's looks self-signed, and clients refuse it"))
        elif spec.imported and spec.name in facts and facts[spec.name].issuer_cn == cn:
            diags.append(_at(
                spec, fld, "error",
                f"common name {cn!r} is also the common name of the certificate's issuer",
                "a certificate whose subject matches its issuer's looks self-signed, and "
                "clients refuse it; ask the issuer for a distinct common name"))
    return diags


def _listener_checks(stack: Stack, facts: Mapping[str, CertificateFacts]) -> list[Diagnostic]:
    """An imported server certificate without any extendedKeyUsage, used to terminate TLS;
    imported dual certificates of one key algorithm.

    (One whose extendedKeyUsage lacks serverAuth is already an import problem.)"""
    diags = []
    seen: set[tuple[str, str]] = set()
    for lname, path, tls in _tls_uses(stack):
        diags += _dual_algorithms(stack, facts, path, tls)
        for index, name in enumerate(tls.servers):
            spec = stack.certificates.get(name)
            if spec is None or not spec.imported or spec.type != "server" or name not in facts:
                continue
            if facts[name].ekus is None and (lname, name) not in seen:
                seen.add((lname, name))
                key = f"certificate.{index}" if tls.extra_certificates else "certificate"
                diags.append(error(
                    f"listener {lname!r} uses certificate {name!r}, which has no serverAuth "
                    "extended key usage",
                    path=f"{path}.{key}", position=tls.positions.at(key),
                    hint="Apple devices and strict clients refuse a TLS server certificate "
                         "without extendedKeyUsage serverAuth; use one issued for serverAuth"))
    return diags


def _dual_algorithms(stack: Stack, facts: Mapping[str, CertificateFacts], path: str,
                     tls: Tls) -> list[Diagnostic]:
    """Dual certificates whose key algorithm only their files tell (an imported one): one
    RSA and one ECDSA (the stack checks catch two generated ones of one algorithm)."""
    if len(tls.servers) != 2:
        return []
    kinds, imported = [], False
    for name in tls.servers:
        spec = stack.certificates.get(name)
        if spec is None or spec.existing or (spec.imported and name not in facts):
            return []
        imported = imported or spec.imported
        kinds.append((facts[name].key_type if spec.imported else spec.key).split("-")[0])
    if kinds[0] != kinds[1] or not imported:
        return []
    first, second = tls.servers
    return [error(
        f"dual certificates must have different key algorithms, but {first!r} and {second!r} "
        f"are both {kinds[0].upper()} (CLB holds one server certificate per algorithm)",
        path=f"{path}.certificate.1", position=tls.positions.at("certificate.1"),
        hint="pair an RSA certificate with an ECDSA one")]
