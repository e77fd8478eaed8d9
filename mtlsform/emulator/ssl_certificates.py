"""SSL Certificates API (2019-12-05): UploadCertificate, DescribeCertificateDetail,
DescribeCertificates, DeleteCertificate — request tables, handlers and response shapes."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from cryptography.hazmat.primitives import serialization

from mtlsform.emulator import certparse
from mtlsform.emulator.apierror import ApiError
from mtlsform.emulator.cloudids import new_cert_id
from mtlsform.emulator.params import Bool, Int, List, Model, Str
from mtlsform.emulator.world import Certificate, WorldState, cloud_time

OWNER_UIN = "100000000001"
TAGS = {"TagKey": Str(True, length=(1, 127)), "TagValue": Str(True, length=(0, 255))}

UPLOAD_CERTIFICATE = {
    "CertificatePublicKey": Str(True),
    "CertificatePrivateKey": Str(),
    "CertificateType": Str(choices=("SVR", "CA"), fold_case=True),
    "Alias": Str(length=(0, 200)),
    "ProjectId": Int(min=0),
    "CertificateUse": Str(length=(0, 32)),
    "Tags": List(Model(TAGS), max_items=50),
    "Repeatable": Bool(),
    "KeyPassword": Str(length=(0, 128)),
}
DESCRIBE_CERTIFICATE_DETAIL = {"CertificateId": Str(True, length=(1, 64))}
DESCRIBE_CERTIFICATES = {
    "Offset": Int(min=0),
    "Limit": Int(min=0),
    "SearchKey": Str(),
    "CertificateType": Str(choices=("CA", "SVR"), fold_case=True),
    "ProjectId": Int(min=0),
    "ExpirationSort": Str(choices=("ASC", "DESC"), fold_case=True),
    "CertificateStatus": List(Int(min=0)),
    "Deployable": Int(min=0, max=1),
    "Upload": Int(min=0, max=1),
    "Renew": Int(min=0, max=1),
    "FilterSource": Str(choices=("upload", "buy")),
    "IsSM": Int(min=0, max=1),
    "FilterExpiring": Int(min=0, max=1),
    "Hostable": Int(min=0, max=1),
    "Tags": List(Model(TAGS)),
    "IsPendingIssue": Int(min=0, max=1),
    "CertIds": List(Str(length=(1, 64)), max_items=100),
    "ServiceId": Str(),
}
MODIFY_CERTIFICATE_ALIAS = {"CertificateId": Str(True, length=(1, 64)),
                            "Alias": Str(length=(0, 200))}
DELETE_CERTIFICATE = {"CertificateId": Str(True, length=(1, 64)), "IsCheckResource": Bool()}
DESCRIBE_DELETE_CERTIFICATES_TASK_RESULT = {"TaskIds": List(Str(length=(1, 64)), max_items=100)}


def new_certificate(state: WorldState, cert_type: str, public_pem: str, private_pem: str | None,
                    *, alias: str = "", password: str | None = None, project_id: int = 0,
                    certificate_use: str | None = None,
                    tags: list[dict[str, str]] | None = None) -> Certificate:
    """Checks an upload as the SSL service does and returns the record (not yet stored)."""
    try:
        parsed = certparse.parse_certificate(public_pem)
    except certparse.CertParseError as exc:
        raise ApiError("FailedOperation.CertificateParseError",
                       f"The certificate cannot be parsed: {exc}. Check it is a PEM certificate "
                       "and mind extra spaces.") from None
    key_pem = None
    if cert_type == "CA":
        # A CA upload may hold several CA certificates (a bundle: every one is trusted to
        # verify clients); each of them must be a CA.
        place = parsed.first_not_ca()
        if place is not None:
            which = "" if len(parsed.chain) == 1 else \
                f" (certificate {place} of the {len(parsed.chain)} in the upload)"
            raise ApiError("FailedOperation.CertificateCaError",
                           f"The uploaded content is not a CA certificate{which} (no "
                           "basicConstraints CA:TRUE); check the certificate type.")
    else:
        if not private_pem:
            raise ApiError("MissingParameter", "The request is missing a required parameter "
                           "`CertificatePrivateKey` (required for SVR certificates).")
        if not certparse.is_supported_server_key(parsed.leaf):
            raise ApiError("FailedOperation.CertificateInvalid",
                           "Only RSA and ECC server certificates are supported.")
        try:
            key = certparse.parse_private_key(private_pem, password)
        except certparse.CertParseError as exc:
            raise ApiError("FailedOperation.CertificateParseError",
                           f"The private key cannot be parsed: {exc}.") from None
        if not certparse.key_matches(parsed, key):
            raise ApiError("FailedOperation.CertificateMatchError",
                           "The certificate and the private key do not match (mind extra "
                           "spaces).")
        key_pem = private_pem
        if password:  # keep a usable key: the data plane terminates TLS with it
            key_pem = key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode("ascii")
    return certparse.certificate_record(
        new_cert_id(state.certificates), cert_type, alias, parsed, key_pem,
        project_id=project_id, certificate_use=certificate_use, tags=tags)


def upload_certificate(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    cert = new_certificate(
        state, p.get("CertificateType", "SVR"), p["CertificatePublicKey"],
        p.get("CertificatePrivateKey"), alias=p.get("Alias", ""), password=p.get("KeyPassword"),
        project_id=p.get("ProjectId", 0), certificate_use=p.get("CertificateUse"),
        tags=p.get("Tags"))
    if p.get("Repeatable") is False:
        for existing in state.certificates.values():
            if existing.fingerprint == cert.fingerprint and existing.cert_type == cert.cert_type \
                    and (cert.cert_type != "CA"
                         or existing.certificate_pem == cert.certificate_pem):
                # A CA bundle is the same upload only with the same certificates: one holding
                # another root beside the first is a different trust.
                return {"CertificateId": existing.cert_id, "RepeatCertId": existing.cert_id}
    state.certificates[cert.cert_id] = cert
    return {"CertificateId": cert.cert_id, "RepeatCertId": ""}


def _find(state: WorldState, cert_id: str) -> Certificate:
    cert = state.certificates.get(cert_id)
    if cert is None:
        raise ApiError("FailedOperation.CertificateNotFound",
                       f"The certificate {cert_id} does not exist.")
    return cert


def _status(cert: Certificate) -> tuple[int, str]:
    return (3, "Expired") if cert.not_after_epoch < time.time() else (1, "Issued")


def _months(cert: Certificate) -> str:
    begin, end = cert.not_before, cert.not_after
    months = (int(end[:4]) - int(begin[:4])) * 12 + int(end[5:7]) - int(begin[5:7])
    return str(max(months, 0))


def _domain_type(cert: Certificate) -> int:
    wildcard = any(name.startswith("*.") for name in [cert.domain, *cert.subject_alt_names])
    multi = len(set([cert.domain, *cert.subject_alt_names])) > 1
    return (4 if multi else 3) if wildcard else (2 if multi else 1)


def _extra(cert: Certificate) -> dict[str, Any]:
    return {"DomainNumber": str(max(len(cert.subject_alt_names), 1)),
            "OriginCertificateId": None, "ReplacedBy": None, "ReplacedFor": None,
            "RenewOrder": None, "SMCert": 0, "CompanyType": 0,
            "ServiceRenewCertificateId": None, "ServiceOriginCertificateId": None}


def describe_certificate_detail(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    cert = _find(state, p["CertificateId"])
    status, status_name = _status(cert)
    return {
        "OwnerUin": OWNER_UIN, "ProjectId": str(cert.project_id), "From": "upload",
        "CertificateType": cert.cert_type, "PackageType": None, "ProductZhName": None,
        "Domain": cert.domain, "Alias": cert.alias, "Status": status, "StatusMsg": None,
        "VerifyType": None, "VulnerabilityStatus": "INACTIVE",
        "CertBeginTime": cert.not_before, "CertEndTime": cert.not_after,
        "ValidityPeriod": _months(cert), "InsertTime": cert.insert_time, "OrderId": None,
        "CertificateExtra": _extra(cert),
        "CertificatePrivateKey": cert.private_key_pem,
        "CertificatePublicKey": cert.certificate_pem,
        "DvAuthDetail": None, "VulnerabilityReport": None, "CertificateId": cert.cert_id,
        "TypeName": None, "StatusName": status_name,
        "SubjectAltName": [name for name in cert.subject_alt_names if name != cert.domain],
        "IsVip": False, "IsWildcard": cert.domain.startswith("*."), "IsDv": False,
        "IsVulnerability": False, "SubmittedData": None, "RenewAble": False,
        "Deployable": True, "Tags": [dict(tag) for tag in cert.tags], "RootCert": None,
        "EncryptCert": None, "EncryptPrivateKey": None, "CertFingerprint": cert.fingerprint.upper(),
        "EncryptCertFingerprint": None, "EncryptAlgorithm": cert.key_algorithm,
        "DvRevokeAuthDetail": None, "CertChainInfo": [dict(info) for info in cert.chain],
        "DomainType": _domain_type(cert), "CertType": None, "UseCrossSignRoot": False,
        "HostingStatus": -1,
    }


def _list_item(cert: Certificate) -> dict[str, Any]:
    status, status_name = _status(cert)
    ca = cert.cert_type == "CA"
    sans = [cert.domain, *[n for n in cert.subject_alt_names if n != cert.domain]]
    return {
        "OwnerUin": OWNER_UIN, "ProjectId": str(cert.project_id), "From": "upload",
        "PackageType": None, "CertificateType": cert.cert_type, "ProductZhName": None,
        "Domain": cert.domain, "Alias": cert.alias, "Status": status,
        "CertificateExtra": _extra(cert), "VulnerabilityStatus": "INACTIVE", "StatusMsg": None,
        "VerifyType": None, "CertBeginTime": cert.not_before, "CertEndTime": cert.not_after,
        "ValidityPeriod": _months(cert), "InsertTime": cert.insert_time,
        "CertificateId": cert.cert_id, "SubjectAltName": sans, "PackageTypeName": None,
        "StatusName": status_name, "IsVip": False, "IsDv": False,
        "IsWildcard": cert.domain.startswith("*."), "IsVulnerability": False,
        "RenewAble": False,
        "ProjectInfo": {"ProjectName": "Default Project", "ProjectCreatorUin": 0,
                        "ProjectCreateTime": "", "ProjectResume": "", "OwnerUin": 0,
                        "ProjectId": str(cert.project_id)},
        "BoundResource": [], "Deployable": True, "Tags": [dict(tag) for tag in cert.tags],
        "IsIgnore": False, "IsSM": False, "EncryptAlgorithm": cert.key_algorithm,
        "CAEncryptAlgorithms": [c["algorithm"] for c in _ca_members(cert)] if ca else None,
        "CAEndTimes": [c["end"] for c in _ca_members(cert)] if ca else None,
        "CACommonNames": [c["name"] for c in _ca_members(cert)] if ca else None,
        "PreAuditInfo": None, "AutoRenewFlag": 0, "HostingStatus": -1,
        "HostingCompleteTime": None, "HostingRenewCertId": None, "HasRenewOrder": None,
        "ReplaceOriCertIsDelete": False,
        "IsExpiring": 0 <= cert.not_after_epoch - time.time() < 30 * 86400,
        "DVAuthDeadline": None, "ValidationPassedTime": None, "CertSANs": list(sans),
        "AwaitingValidationMsg": None, "AllowDownload": True, "IsDNSPODResolve": False,
        "IsPackage": False, "KeyPasswordCustomFlag": False, "SupportDownloadType": None,
        "CertRevokedTime": None, "HostingResourceTypes": None, "HostingConfig": None,
        "IsHostingUploadRenewCert": False, "ServiceId": None, "ServiceStatus": None,
        "CertServiceBeginTime": None, "CertServiceEndTime": None,
        "CertServiceShareEnabled": False, "CertServiceValidCertificateCount": 0,
    }


def _ca_members(cert: Certificate) -> list[dict[str, str]]:
    """Each certificate of a CA upload (a bundle holds several): name, expiry, algorithm."""
    members = []
    for member in certparse.parse_certificate(cert.certificate_pem).chain:
        members.append({"name": certparse.names(member)[0],
                        "end": cloud_time(member.not_valid_after_utc.timestamp()),
                        "algorithm": certparse.key_algorithm(member)})
    return members


def _matches(cert: Certificate, p: dict[str, Any]) -> bool:
    key = p.get("SearchKey")
    if key and not any(key.lower() in text.lower()
                       for text in (cert.cert_id, cert.alias, cert.domain)):
        return False
    if "CertificateType" in p and cert.cert_type != p["CertificateType"]:
        return False
    if "ProjectId" in p and cert.project_id != p["ProjectId"]:
        return False
    if p.get("CertIds") and cert.cert_id not in p["CertIds"]:
        return False
    if p.get("CertificateStatus") and _status(cert)[0] not in p["CertificateStatus"]:
        return False
    if p.get("FilterSource") == "buy" or p.get("IsSM") == 1 or p.get("IsPendingIssue") == 1:
        return False  # every emulated certificate is an upload, none is SM2 or pending
    if p.get("FilterExpiring") == 1 and not _list_item(cert)["IsExpiring"]:
        return False
    wanted = {(t["TagKey"], t["TagValue"]) for t in p.get("Tags", [])}
    return wanted <= {(t["TagKey"], t["TagValue"]) for t in cert.tags}


def describe_certificates(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    found = [cert for cert in state.certificates.values() if _matches(cert, p)]
    found.sort(key=lambda cert: cert.insert_time, reverse=True)  # newest first
    if "ExpirationSort" in p:
        found.sort(key=lambda cert: cert.not_after_epoch, reverse=p["ExpirationSort"] == "DESC")
    offset = p.get("Offset", 0)
    limit = min(p.get("Limit", 10) or 10, 1000)
    return {"TotalCount": len(found),
            "Certificates": [_list_item(cert) for cert in found[offset:offset + limit]]}


def modify_certificate_alias(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    """Renames an uploaded certificate (its content never changes)."""
    cert = _find(state, p["CertificateId"])
    # Certificates are replaced whole in a transaction, never changed in place.
    state.certificates[cert.cert_id] = dataclasses.replace(cert, alias=p.get("Alias", ""))
    return {"CertificateId": cert.cert_id}


def delete_certificate(call: Any, state: WorldState, p: dict[str, Any]) -> dict[str, Any]:
    """Synchronous, or with IsCheckResource a task (TaskId) whose outcome
    DescribeDeleteCertificatesTaskResult reports: 1 deleted, 4 refused while cloud resources
    use it. The emulator's task ends at once (the cloud's takes a while)."""
    cert = _find(state, p["CertificateId"])
    users = state.cert_usage().get(cert.cert_id, [])
    pending = [lb for task in state.pending_tasks() if cert.cert_id in task.cert_refs
               for lb in task.lb_ids]
    where = ", ".join(sorted({f"{lb}/{lst}" + (f"/{loc}" if loc else "")
                              for lb, lst, loc in users} | set(pending)))
    if p.get("IsCheckResource"):
        task_id = str(1000000 + len(state.delete_tasks) + 1)
        state.delete_tasks[task_id] = {
            "TaskId": task_id, "CertId": cert.cert_id, "Status": 4 if where else 1,
            "Error": f"associated with cloud resources (clb: {where})" if where else "",
            "CacheTime": call.time, "Domains": [cert.domain, *cert.subject_alt_names]}
        if not where:
            del state.certificates[cert.cert_id]
        return {"DeleteResult": False, "TaskId": task_id}
    if where:
        raise ApiError("FailedOperation.DeleteResourceFailed",
                       f"The certificate {cert.cert_id} is associated with cloud resources "
                       f"(clb: {where}) and cannot be deleted; unbind it first.")
    del state.certificates[cert.cert_id]
    return {"DeleteResult": True, "TaskId": None}


def describe_delete_certificates_task_result(call: Any, state: WorldState,
                                             p: dict[str, Any]) -> dict[str, Any]:
    ids = p.get("TaskIds") or []
    return {"DeleteTaskResult": [dict(state.delete_tasks[task_id]) for task_id in ids
                                 if task_id in state.delete_tasks]}
