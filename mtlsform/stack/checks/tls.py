"""TLS blocks (listener or rule): mode against client_ca, and what each name refers to."""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import exists, unknown
from mtlsform.stack.model import Tls
from mtlsform.stack.suggest import did_you_mean
from mtlsform.stack.tlspolicy import KNOWN_CIPHERS, TlsPolicy

_ARTICLE = {"ca": "a ca", "server": "a server", "client": "a client"}


def check_tls(tls: Tls, where: str, parts: Parts, *, needs_certificate: str | None) -> list[
        Diagnostic]:
    """Problems of one tls block at `where`; `needs_certificate` is the message when absent."""
    found: list[Diagnostic] = []
    at = tls.positions.at
    written = tls.positions.fields
    if "mode" in written and tls.mode == "mutual" and not tls.client_ca:
        found.append(error(
            "mode mutual needs client_ca, the CA that client certificates must be signed by",
            path=f"{where}.mode", position=at("mode"),
            hint="add client_ca: NAME (a ca certificate of this stack)"))
    if "mode" in written and tls.mode == "one-way" and tls.client_ca:
        found.append(error(
            "client_ca is only used with mode: mutual", path=f"{where}.client_ca",
            position=at("client_ca"),
            hint="remove client_ca for one-way TLS, or remove mode (it defaults to mutual "
                 "when client_ca is given)"))
    if tls.certificate is None:
        if needs_certificate:
            found.append(error(needs_certificate, path=where, position=at(),
                               hint="add certificate: NAME (a server certificate of this "
                                    "stack)"))
    elif not tls.extra_certificates:
        found += _refers_to(parts, tls.certificate, "server", f"{where}.certificate",
                            tls, "certificate")
    else:
        for index, name in enumerate(tls.servers):
            found += _refers_to(parts, name, "server", f"{where}.certificate.{index}",
                                tls, f"certificate.{index}")
        found += _dual(tls, where, parts)
    if tls.client_ca is not None:
        found += _refers_to(parts, tls.client_ca, "ca", f"{where}.client_ca", tls, "client_ca")
    if tls.policy is not None:
        found += check_policy(tls.policy, f"{where}.policy")
    return found


def check_policy(policy: TlsPolicy, where: str) -> list[Diagnostic]:
    """Cipher names OpenSSL knows, and ciphers only where a version before TLS 1.3 is on."""
    found: list[Diagnostic] = []
    at = policy.positions.at
    for index, name in enumerate(policy.ciphers):
        if name not in KNOWN_CIPHERS:
            suggestion = did_you_mean(name, KNOWN_CIPHERS)
            found.append(error(
                f"unknown cipher {name!r}", path=f"{where}.ciphers.{index}",
                position=at(f"ciphers.{index}"),
                hint=(suggestion + " " if suggestion else "")
                + "ciphers are OpenSSL names of TLS 1.2 ciphers, such as "
                  "ECDHE-RSA-AES128-GCM-SHA256"))
    if policy.ciphers and policy.min_version == "TLSv1.3":
        found.append(error(
            "ciphers have no effect with min_version TLSv1.3 (TLS 1.3 has its own fixed "
            "suites)", path=f"{where}.ciphers", position=at("ciphers"),
            hint="remove ciphers, or lower min_version to TLSv1.2"))
    return found


def _dual(tls: Tls, where: str, parts: Parts) -> list[Diagnostic]:
    """Dual certificates: two at most, of different key algorithms (CLB's MultiCertInfo
    holds one server certificate per algorithm), as far as the stack tells the algorithm
    (a generated certificate's `key`; an imported or existing one's is read later)."""
    at = tls.positions.at
    names = tls.servers
    if len(names) > 2:
        return [error(
            f"a listener or domain serves at most two server certificates, one RSA and one "
            f"ECDSA (CLB's MultiCertInfo), but {len(names)} are given",
            path=f"{where}.certificate.2", position=at("certificate.2"),
            hint="keep one RSA and one ECDSA certificate")]
    first, second = names
    if first == second:
        return [error(f"{first!r} is given twice", path=f"{where}.certificate.1",
                      position=at("certificate.1"),
                      hint="name two certificates: one RSA and one ECDSA")]
    specs = [parts.certificates.get(name) for name in names]
    algorithms = [spec.key.split("-")[0] if spec is not None and spec.type == "server"
                  and not spec.imported and not spec.existing else None for spec in specs]
    if algorithms[0] is not None and algorithms[0] == algorithms[1]:
        kind = algorithms[0].upper()
        return [error(
            f"dual certificates must have different key algorithms, but {first!r} and "
            f"{second!r} are both {kind} (CLB holds one server certificate per algorithm)",
            path=f"{where}.certificate.1", position=at("certificate.1"),
            hint="pair an RSA certificate (key: rsa-2048) with an ECDSA one "
                 "(key: ecdsa-p256)")]
    return []


def _refers_to(parts: Parts, name: str, kind: str, where: str, tls: Tls,
               key: str) -> list[Diagnostic]:
    position = tls.positions.at(key)
    if not exists(parts, "certificates", name):
        return [unknown(parts, "certificates", name, path=where, position=position)]
    cert = parts.certificates.get(name)
    if cert is None or cert.type == kind:
        return []
    if kind == "ca":
        return [error(
            f"client_ca {name!r} is {_ARTICLE[cert.type]} certificate, not a ca", path=where,
            position=position,
            hint="client certificates are verified against the CA that signed them; "
                 "name a certificate of type ca")]
    return [error(
        f"{name!r} is {_ARTICLE[cert.type]} certificate; tls.certificate must name a server "
        "certificate", path=where, position=position,
        hint="the listener presents a server certificate; a ca goes in client_ca")]
