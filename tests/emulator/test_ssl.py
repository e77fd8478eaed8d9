"""SSL certificates through the SDK: UploadCertificate checks, details (checked with openssl),
listing, duplicates, and deletion refused while a listener or rule (or a running task) uses one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from mtlsform.emulator import Emulator, EmulatorConfig
from tests.emulator import helpers
from tests.emulator.helpers import call, done, error_of, wait


def _code(exc: Any) -> str:
    return str(exc).split("code:")[1].split(" ")[0]


def _upload(ssl: Any, pem: Any, **kw: Any) -> str:
    return call(ssl, "UploadCertificate", CertificatePublicKey=pem.cert,
                CertificatePrivateKey=pem.key, **kw).CertificateId


def test_server_certificate_details_agree_with_openssl(ssl: Any, pki: dict,
                                                       tmp_path: Path) -> None:
    cert_id = _upload(ssl, pki["server"], Alias="web", ProjectId=0,
                      Tags=[{"TagKey": "stack", "TagValue": "demo"}])
    assert re.fullmatch(r"[A-Za-z0-9]{8}", cert_id)
    detail = call(ssl, "DescribeCertificateDetail", CertificateId=cert_id)
    assert (detail.CertificateType, detail.From, detail.ProjectId, detail.Status) == (
        "SVR", "upload", "0", 1)
    assert (detail.Domain, detail.Alias, detail.EncryptAlgorithm) == (
        "www.example.com", "web", "ECC 256")
    assert detail.SubjectAltName == []  # the main domain is not repeated here
    assert detail.CertificatePublicKey == pki["server"].cert.strip() + "\n"
    assert detail.CertificatePrivateKey.strip() == pki["server"].key.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", detail.CertEndTime)
    assert detail.Tags[0].TagValue == "demo"
    pem = tmp_path / "server.pem"
    pem.write_text(pki["server"].cert)
    out = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-fingerprint", "-sha1",
                          "-subject"], capture_output=True, text=True, check=True).stdout
    fingerprint = out.split("=", 1)[1].splitlines()[0].replace(":", "")
    assert detail.CertFingerprint == fingerprint.upper()  # upper-case, as the service shows it
    chain = detail.CertChainInfo[0]
    assert (chain.Subject, chain.Issuer) == ("www.example.com", "Test Root CA")  # bare CNs
    assert "www.example.com" in out
    listed = call(ssl, "DescribeCertificates", CertIds=[cert_id]).Certificates[0]
    assert listed.SubjectAltName == ["www.example.com"] and listed.ProjectId == "0"


def test_upload_checks(ssl: Any, pki: dict) -> None:
    cases = [
        ({"CertificatePublicKey": "garbage", "CertificatePrivateKey": pki["server"].key},
         "FailedOperation.CertificateParseError"),
        ({"CertificatePublicKey": pki["server"].cert, "CertificatePrivateKey": "garbage"},
         "FailedOperation.CertificateParseError"),
        ({"CertificatePublicKey": pki["server"].cert, "CertificatePrivateKey": pki["api"].key},
         "FailedOperation.CertificateMatchError"),
        ({"CertificatePublicKey": pki["server"].cert}, "MissingParameter"),
        ({"CertificatePublicKey": pki["server"].cert, "CertificateType": "CA"},
         "FailedOperation.CertificateCaError"),
        ({"CertificatePublicKey": pki["ca"].cert, "CertificateType": "ROOT"},
         "InvalidParameterValue"),
        ({"CertificatePublicKey": 5}, "InvalidParameter"),
    ]
    for fields, code in cases:
        assert _code(error_of(ssl, "UploadCertificate", **fields)) == code, fields
    assert call(ssl, "DescribeCertificates").TotalCount == 0


def test_ca_upload_and_duplicates(ssl: Any, pki: dict) -> None:
    first = call(ssl, "UploadCertificate", CertificatePublicKey=pki["ca"].cert,
                 CertificateType="CA")
    assert first.RepeatCertId == ""
    again = call(ssl, "UploadCertificate", CertificatePublicKey=pki["ca"].cert,
                 CertificateType="CA", Repeatable=False)
    assert again.CertificateId == again.RepeatCertId == first.CertificateId
    third = call(ssl, "UploadCertificate", CertificatePublicKey=pki["ca"].cert,
                 CertificateType="CA")
    assert third.CertificateId != first.CertificateId
    listed = call(ssl, "DescribeCertificates", CertificateType="CA").Certificates
    assert len(listed) == 2 and listed[0].CACommonNames == ["Test Root CA"]


def test_encrypted_key_needs_its_password(ssl: Any, pki: dict) -> None:
    key = serialization.load_pem_private_key(pki["server"].key.encode(), None)
    locked = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.BestAvailableEncryption(b"s3cret")).decode()
    exc = error_of(ssl, "UploadCertificate", CertificatePublicKey=pki["server"].cert,
                   CertificatePrivateKey=locked)
    assert _code(exc) == "FailedOperation.CertificateParseError" and "s3cret" not in str(exc)
    cert_id = call(ssl, "UploadCertificate", CertificatePublicKey=pki["server"].cert,
                   CertificatePrivateKey=locked, KeyPassword="s3cret").CertificateId
    detail = call(ssl, "DescribeCertificateDetail", CertificateId=cert_id)
    assert "ENCRYPTED" not in detail.CertificatePrivateKey


def test_listing_filters_and_pages(ssl: Any, pki: dict) -> None:
    ids = [_upload(ssl, pki["server"], Alias=f"web-{n}") for n in range(3)]
    ids.append(_upload(ssl, pki["expired"], Alias="old"))
    assert call(ssl, "DescribeCertificates").TotalCount == 4
    page = call(ssl, "DescribeCertificates", Limit=2, Offset=1)
    assert page.TotalCount == 4 and len(page.Certificates) == 2
    assert [c.Alias for c in call(ssl, "DescribeCertificates", SearchKey="old").Certificates] == [
        "old"]
    expired = call(ssl, "DescribeCertificates", CertificateStatus=[3]).Certificates
    assert [(c.CertificateId, c.Status) for c in expired] == [(ids[3], 3)]
    exc = error_of(ssl, "DescribeCertificateDetail", CertificateId="Zz000000")
    assert _code(exc) == "FailedOperation.CertificateNotFound"


def test_bound_certificates_cannot_be_deleted(clb: Any, ssl: Any, certs: dict, lb: str) -> None:
    sni = helpers.done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                       SniSwitch=1).ListenerIds[0]
    helpers.done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=sni,
                 Rules=[{"Domain": "api.example.com", "Url": "/",
                         "Certificate": {"CertId": certs["api"]}}])
    exc = error_of(ssl, "DeleteCertificate", CertificateId=certs["api"])
    assert _code(exc) == "FailedOperation.DeleteResourceFailed" and lb in exc.message
    assert call(ssl, "DeleteCertificate", CertificateId=certs["other_ca"]).DeleteResult is True
    exc = error_of(ssl, "DeleteCertificate", CertificateId=certs["other_ca"])
    assert _code(exc) == "FailedOperation.CertificateNotFound"


def test_a_running_task_holds_its_certificates(tmp_path: Path, pki: dict) -> None:
    with Emulator(EmulatorConfig(data_dir=tmp_path, task_delay=30, rate_limit=None)) as emu:
        clb, ssl = helpers.clb(emu), helpers.ssl(emu)
        cert_id = _upload(ssl, pki["server"])
        made = call(clb, "CreateLoadBalancer", LoadBalancerType="OPEN")
        emu.wait_for_tasks()
        lb = made.LoadBalancerIds[0]
        task = call(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                    Certificate={"CertId": cert_id})
        assert call(clb, "DescribeTaskStatus", TaskId=task.RequestId).Status == 2
        assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 0
        exc = error_of(ssl, "DeleteCertificate", CertificateId=cert_id)
        assert _code(exc) == "FailedOperation.DeleteResourceFailed"
        emu.wait_for_tasks()
        assert wait(clb, task.RequestId).Status == 0
        assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 1


def test_a_ca_upload_may_hold_several_roots_each_a_ca(ssl: Any, pki: dict) -> None:
    """A CA bundle (the way a listener trusts two client CAs during a rollover): every
    certificate of it is listed, each must be a CA, and it is not a repeat of its first root."""
    single = call(ssl, "UploadCertificate", CertificatePublicKey=pki["ca"].cert,
                  CertificateType="CA", Repeatable=False).CertificateId
    bundle_pem = pki["ca"].cert.strip() + "\n" + pki["other_ca"].cert.strip() + "\n"
    bundle = call(ssl, "UploadCertificate", CertificatePublicKey=bundle_pem,
                  CertificateType="CA", Repeatable=False)
    assert bundle.RepeatCertId == "" and bundle.CertificateId != single
    again = call(ssl, "UploadCertificate", CertificatePublicKey=bundle_pem,
                 CertificateType="CA", Repeatable=False)
    assert again.RepeatCertId == bundle.CertificateId  # the same bundle is a repeat
    listed = {c.CertificateId: c for c in call(
        ssl, "DescribeCertificates", CertificateType="CA").Certificates}
    assert listed[bundle.CertificateId].CACommonNames == ["Test Root CA", "Other CA"]
    assert len(listed[bundle.CertificateId].CAEndTimes) == 2
    assert listed[single].CACommonNames == ["Test Root CA"]

    with_a_leaf = pki["ca"].cert.strip() + "\n" + pki["server"].cert.strip() + "\n"
    refused = error_of(ssl, "UploadCertificate", CertificatePublicKey=with_a_leaf,
                       CertificateType="CA")
    assert _code(refused) == "FailedOperation.CertificateCaError"
    assert "certificate 2 of the 2 in the upload" in str(refused)


def test_delete_with_is_check_resource_is_a_task_with_its_result(clb: Any, ssl: Any,
                                                                 certs: dict, lb: str) -> None:
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
         Certificate={"SSLMode": "UNIDIRECTIONAL", "CertId": certs["server"]})
    bound = call(ssl, "DeleteCertificate", CertificateId=certs["server"], IsCheckResource=True)
    free = call(ssl, "DeleteCertificate", CertificateId=certs["api"], IsCheckResource=True)
    assert (bound.DeleteResult, free.DeleteResult) == (False, False)
    assert bound.TaskId and free.TaskId and bound.TaskId != free.TaskId
    results = call(ssl, "DescribeDeleteCertificatesTaskResult",
                   TaskIds=[bound.TaskId, free.TaskId]).DeleteTaskResult
    by_cert = {r.CertId: r for r in results}
    assert by_cert[certs["api"]].Status == 1  # deleted
    assert by_cert[certs["server"]].Status == 4 and lb in by_cert[certs["server"]].Error
    assert by_cert[certs["api"]].Domains[0] == "api.example.com"
    listed = call(ssl, "DescribeCertificates", CertIds=[certs["server"], certs["api"]])
    assert [c.CertificateId for c in listed.Certificates] == [certs["server"]]
