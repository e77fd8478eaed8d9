"""Certificate checks by declared type: fields per kind, issuers, issuer cycles, path lengths.

Content checks (common-name clashes, key usages, expiry, imported files) belong to
`mtlsform.stack.checks.contents`, which runs after these pass.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from mtlsform.dag import Dag, format_cycle
from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import exists, unknown
from mtlsform.stack.model import Certificate
from mtlsform.stack.values import quote

# Fields that describe how to generate a certificate: an imported one takes them from its file.
_GENERATED_ONLY = ("subject", "key", "validity_days", "issuer", "path_length", "dns_names",
                   "ip_addresses")
_ONLY_FOR = {"dns_names": "server", "ip_addresses": "server", "path_length": "ca",
             "export": "client"}
_ARTICLE = {"ca": "a ca", "server": "a server", "client": "a client"}


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for cert in parts.certificates.values():
        found += _fields(cert)
        found += _rollover(cert)
        found += _issuer(cert, parts)
    found += _cycles(parts)
    found += _path_lengths(parts)
    return found


def _where(cert: Certificate, key: str = "") -> str:
    return f"certificates.{cert.name}" + (f".{key}" if key else "")


def _written(cert: Certificate, key: str) -> bool:
    return key in cert.positions.fields


def _rollover(cert: Certificate) -> list[Diagnostic]:
    """A rollover is for a generated CA, and retires at `auto` or at a date."""
    if cert.rollover is None:
        return []
    at = cert.positions.at
    if cert.type != "ca" or cert.imported:
        what = "an imported certificate" if cert.imported else _ARTICLE[cert.type] + " certificate"
        return [error(f"only a generated ca can roll over; this one is {what}",
                      path=_where(cert, "rollover"), position=at("rollover"),
                      hint="remove rollover (to replace a certificate, change its settings)")]
    retire = cert.rollover.retire
    if retire != "auto":
        try:
            datetime.fromisoformat(retire.replace("Z", "+00:00"))
        except ValueError:
            return [error(f"retire expects auto or a date, not {quote(retire)}",
                          path=_where(cert, "rollover.retire"),
                          position=at("rollover.retire"),
                          hint="write auto, 2027-01-15 or 2027-01-15T08:00:00Z")]
    return []


def _fields(cert: Certificate) -> list[Diagnostic]:
    found = []
    at = cert.positions.at
    for key, kind in _ONLY_FOR.items():
        if _written(cert, key) and cert.type != kind:
            found.append(error(f"only {_ARTICLE[kind]} certificate has {key}; this one is "
                               f"{_ARTICLE[cert.type]} certificate", path=_where(cert, key),
                               position=at(key), hint=f"remove {key}"))
    for i, address in enumerate(cert.ip_addresses):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            found.append(error(f"{quote(address)} is not an IP address",
                               path=_where(cert, f"ip_addresses[{i}]"),
                               position=at(f"ip_addresses.{i}"),
                               hint="write an IPv4 address like 10.0.0.1 or an IPv6 address"))
    if cert.existing:
        found += _existing(cert)
    elif cert.imported:
        found += _imported(cert)
    else:
        found += _generated(cert)
    return found


def _imported(cert: Certificate) -> list[Diagnostic]:
    found = []
    at = cert.positions.at
    for key in _GENERATED_ONLY:
        if _written(cert, key):
            found.append(error(
                f"{key} cannot be set on an imported certificate: it comes from the file",
                path=_where(cert, key), position=at(key),
                hint=f"remove {key}, or remove files: to let mtlsform generate the certificate"))
    assert cert.files is not None
    if cert.type == "server" and cert.files.private_key is None:
        found.append(error(
            "an imported server certificate needs files.private_key",
            path=_where(cert, "files"), position=at("files"),
            hint="the load balancer needs the private key to serve TLS"))
    if cert.files.passphrase_env and cert.files.private_key is None:
        found.append(error(
            "passphrase_env is set but there is no private_key to decrypt",
            path=_where(cert, "files.passphrase_env"), position=at("files.passphrase_env"),
            hint="add files.private_key, or remove passphrase_env"))
    return found


def _existing(cert: Certificate) -> list[Diagnostic]:
    """A certificate referenced by its ID: the SSL service holds everything about it."""
    found = []
    at = cert.positions.at
    for key in (*_GENERATED_ONLY, "files", "export", "clients"):
        if _written(cert, key):
            found.append(error(
                f"{key} cannot be set on a certificate referenced by its ID: the SSL service "
                "holds it", path=_where(cert, key), position=at(key),
                hint=f"remove {key}, or remove id: to let mtlsform make the certificate"))
    return found


def _generated(cert: Certificate) -> list[Diagnostic]:
    found = []
    at = cert.positions.at
    if cert.subject is None:
        found.append(error(
            "a generated certificate needs subject: {common_name: ...}", path=_where(cert),
            position=at(), hint="or import an existing certificate with files: {certificate: "
                                "..., private_key: ...}"))
    if cert.type != "ca" and cert.issuer is None:
        found.append(error(
            f"{_ARTICLE[cert.type]} certificate needs an issuer", path=_where(cert),
            position=at(), hint="set issuer: to the name of a ca certificate of this stack"))
    if cert.renew_before_days >= cert.validity_days:
        key = "renew_before_days" if _written(cert, "renew_before_days") else "validity_days"
        found.append(error(
            f"renew_before_days ({cert.renew_before_days}) must be less than validity_days "
            f"({cert.validity_days})", path=_where(cert, key), position=at(key),
            hint="otherwise the certificate would be renewed on every run"))
    return found


def _issuer(cert: Certificate, parts: Parts) -> list[Diagnostic]:
    if cert.issuer is None or cert.imported:
        return []
    where, position = _where(cert, "issuer"), cert.positions.at("issuer")
    if not exists(parts, "certificates", cert.issuer):
        return [unknown(parts, "certificates", cert.issuer, path=where, position=position)]
    issuer = parts.certificates.get(cert.issuer)
    if issuer is None or issuer.name == cert.name:
        return []  # not built (already reported), or a self-reference (reported as a cycle)
    if issuer.type != "ca":
        return [error(
            f"{issuer.name!r} is {_ARTICLE[issuer.type]} certificate; only a ca can issue "
            "certificates", path=where, position=position,
            hint="a server or client certificate cannot sign others; name a ca certificate")]
    if issuer.existing:
        return [error(
            f"{issuer.name!r} is referenced by its ID in the SSL service, so its private key "
            "is not here and it cannot issue certificates", path=where, position=position,
            hint=f"name a ca certificate mtlsform makes, or import {issuer.name!r} with "
                 "files: {certificate: ..., private_key: ...}")]
    if issuer.imported and issuer.files is not None and issuer.files.private_key is None:
        return [error(
            f"{issuer.name!r} is imported without a private key, so it cannot issue "
            "certificates", path=where, position=position,
            hint=f"add files.private_key to {issuer.name!r}, or name another ca")]
    return []


def _cycles(parts: Parts) -> list[Diagnostic]:
    certs = parts.certificates
    edges = {name: [cert.issuer] for name, cert in certs.items()
             if cert.issuer in certs and not cert.imported}
    found = []
    for cycle in Dag(list(certs), edges).find_cycles():
        first = certs[cycle[0]]
        named = tuple(f"certificate.{name}" for name in cycle)
        found.append(error(
            f"issuer cycle: {format_cycle(named)}", path=_where(first, "issuer"),
            position=first.positions.at("issuer"),
            hint="a chain of issuers must end at a root ca, which has no issuer"))
    return found


def _path_lengths(parts: Parts) -> list[Diagnostic]:
    """A CA below a CA must be allowed by the path_length of every CA above it."""
    certs = parts.certificates
    found = []
    for cert in certs.values():
        if cert.type != "ca" or cert.issuer not in certs:
            continue
        level, above, seen = 1, certs.get(cert.issuer), {cert.name}
        while above is not None and above.name not in seen and above.type == "ca":
            limit = above.path_length
            if limit is not None and not above.imported and limit < level:
                found.append(error(
                    f"{above.name!r} has path_length {limit}, which does not allow the CA "
                    f"{cert.name!r} {level} level{'s' if level > 1 else ''} below it",
                    path=_where(cert, "issuer"), position=cert.positions.at("issuer"),
                    hint=f"set path_length: {level} (or null for no limit) on {above.name!r}"))
                break
            seen.add(above.name)
            level += 1
            above = certs.get(above.issuer) if above.issuer else None
    return found
