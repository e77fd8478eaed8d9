"""Certificates on CLB listeners and domains: CertificateInput / MultiCertInfo to a CertBinding.

Rules enforced: CertId must be a server (SVR) certificate and CertCaId a CA; MUTUAL needs a CA
(an ID, or CertCaContent + CertCaName); without CertId, CertContent + CertKey + CertName upload
a new certificate (as CertCaContent + CertCaName do for the CA); Certificate and MultiCertInfo
exclude each other; a MultiCertInfo holds at most one server certificate per key algorithm.
"""

from __future__ import annotations

import time
from typing import Any

from mtlsform.emulator import ssl_certificates
from mtlsform.emulator.apierror import ApiError, missing
from mtlsform.emulator.world import CertBinding, Certificate, WorldState


def _existing(state: WorldState, cert_id: str, want: str, path: str) -> Certificate:
    cert = state.certificates.get(cert_id)
    if cert is None:
        raise ApiError("InvalidParameter", f"`{path}`: the certificate {cert_id} does not exist.")
    if cert.cert_type != want:
        kind = "server (SVR)" if want == "SVR" else "CA"
        raise ApiError("InvalidParameter",
                       f"`{path}`: the certificate {cert_id} is a {cert.cert_type} certificate; "
                       f"a {kind} certificate is required here.")
    if cert.not_after_epoch < time.time():
        raise ApiError("InvalidParameter", f"`{path}`: the certificate {cert_id} has expired.")
    return cert


def _upload(call: Any, state: WorldState, cert_type: str, content: str, key: str | None,
            name: str, path: str) -> str:
    try:
        cert = ssl_certificates.new_certificate(state, cert_type, content, key, alias=name)
    except ApiError as exc:
        raise ApiError("InvalidParameter", f"`{path}`: {exc.message}") from None
    cert.cert_id = call.new_cert_id(state.certificates)
    state.certificates[cert.cert_id] = cert
    return cert.cert_id


def binding(call: Any, state: WorldState, cert: dict[str, Any] | None,
            multi: dict[str, Any] | None, path: str) -> CertBinding | None:
    """The binding a Certificate or MultiCertInfo parameter asks for (uploads inline material)."""
    if cert is not None and multi is not None:
        raise ApiError("InvalidParameter",
                       f"`{path}Certificate` and `{path}MultiCertInfo` cannot be given together.")
    if cert is not None:
        return _single(call, state, cert, f"{path}Certificate")
    if multi is not None:
        return _multi(call, state, multi, f"{path}MultiCertInfo")
    return None


def _single(call: Any, state: WorldState, p: dict[str, Any], path: str) -> CertBinding:
    mode = p.get("SSLMode", "UNIDIRECTIONAL")
    if p.get("CertId"):
        cert_id = _existing(state, p["CertId"], "SVR", f"{path}.CertId").cert_id
    else:
        for name in ("CertContent", "CertKey", "CertName"):
            if not p.get(name):
                raise missing(f"{path}.{name if p.get('CertContent') else 'CertId'}")
        cert_id = _upload(call, state, "SVR", p["CertContent"], p["CertKey"], p["CertName"],
                          f"{path}.CertContent")
    ca_id = None
    if mode == "MUTUAL":
        if p.get("CertCaId"):
            ca_id = _existing(state, p["CertCaId"], "CA", f"{path}.CertCaId").cert_id
        elif p.get("CertCaContent") and p.get("CertCaName"):
            ca_id = _upload(call, state, "CA", p["CertCaContent"], None, p["CertCaName"],
                            f"{path}.CertCaContent")
        else:
            raise ApiError("MissingParameter",
                           f"SSLMode MUTUAL needs a client CA certificate: give `{path}.CertCaId` "
                           f"(or `{path}.CertCaContent` and `{path}.CertCaName`).")
    return CertBinding(ssl_mode=mode,
                       ssl_verify_client=p.get("SSLVerifyClient", "ON") if ca_id else None,
                       cert_id=cert_id, cert_ca_id=ca_id)


def _multi(call: Any, state: WorldState, p: dict[str, Any], path: str) -> CertBinding:
    mode = p["SSLMode"]
    servers: list[Certificate] = []
    cas: list[str] = []
    for index, item in enumerate(p["CertList"]):
        where = f"{path}.CertList.{index}"
        if item.get("CertId"):
            known = state.certificates.get(item["CertId"])
            want = known.cert_type if known else "SVR"
            cert = _existing(state, item["CertId"], want, f"{where}.CertId")
        else:
            for name in ("CertName", "CertContent"):
                if not item.get(name):
                    raise missing(f"{where}.{name if item.get('CertContent') else 'CertId'}")
            kind = "SVR" if item.get("CertKey") else "CA"
            cert = state.certificates[_upload(call, state, kind, item["CertContent"],
                                              item.get("CertKey"), item["CertName"],
                                              f"{where}.CertContent")]
        if cert.cert_type == "CA":
            cas.append(cert.cert_id)
        else:
            servers.append(cert)
    algorithms = [cert.key_algorithm.split()[0] for cert in servers]
    if not servers:
        raise ApiError("InvalidParameter", f"`{path}.CertList` needs a server certificate.")
    if len(set(algorithms)) != len(algorithms):
        raise ApiError("InvalidParameter",
                       f"`{path}.CertList` holds two server certificates of one algorithm.")
    if mode == "MUTUAL" and len(cas) != 1:
        raise ApiError("InvalidParameter",
                       f"With SSLMode MUTUAL `{path}.CertList` must hold exactly one CA "
                       "certificate.")
    if mode == "UNIDIRECTIONAL" and cas:
        raise ApiError("InvalidParameter",
                       f"With SSLMode UNIDIRECTIONAL `{path}.CertList` holds no CA certificate.")
    return CertBinding(ssl_mode=mode,
                       ssl_verify_client=p.get("SSLVerifyClient", "ON") if cas else None,
                       cert_id=servers[0].cert_id,
                       ext_cert_ids=[cert.cert_id for cert in servers[1:]],
                       cert_ca_id=cas[0] if cas else None)
