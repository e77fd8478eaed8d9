"""CreateListener, DescribeListeners, ModifyListener, DeleteListener through the SDK: port
classes, quotas, protocol-specific settings and the certificate rules of mutual TLS."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulator.helpers import Pem, call, done, error_of

HTTPS = {"Protocol": "HTTPS"}


def _mutual(certs: dict) -> dict:
    return {"SSLMode": "MUTUAL", "CertId": certs["server"], "CertCaId": certs["ca"]}


def _code(exc: Any) -> str:
    return str(exc).split("code:")[1].split(" ")[0]


def test_port_classes(clb: Any, lb: str) -> None:
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol="HTTP")
    for protocol in ("TCP", "HTTPS", "TCP_SSL"):
        exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol=protocol)
        assert "code:InvalidParameter.PortCheckFailed" in str(exc)
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol="udp")  # other class
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[80], Protocol="QUIC")
    assert "code:InvalidParameter.PortCheckFailed" in str(exc)
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[81, 81], Protocol="TCP")
    assert "code:InvalidParameterValue.Duplicate" in str(exc)
    got = call(clb, "DescribeListeners", LoadBalancerId=lb, Protocol="UDP").Listeners
    assert [(x.Protocol, x.Port) for x in got] == [("UDP", 80)]
    assert got[0].HealthCheck.CheckType == "PING" and got[0].Rules is None


def test_fifty_listeners_per_load_balancer(clb: Any, lb: str) -> None:
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=list(range(1, 52)),
                   Protocol="TCP")
    assert "code:LimitExceeded" in str(exc)
    made = done(clb, "CreateListener", LoadBalancerId=lb, Ports=list(range(1000, 1050)),
                Protocol="TCP", ListenerNames=[f"l{n}" for n in range(50)])
    assert len(made.ListenerIds) == 50
    listeners = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners
    assert [(x.Port, x.ListenerName) for x in listeners][:2] == [(1000, "l0"), (1001, "l1")]
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[2000], Protocol="UDP")
    assert "code:LimitExceeded" in str(exc)


@pytest.mark.parametrize(("fields", "code"), [
    ({**HTTPS}, "MissingParameter"),
    ({**HTTPS, "Certificate": {"SSLMode": "MUTUAL", "CertId": "@server"}}, "MissingParameter"),
    ({**HTTPS, "Certificate": {"CertId": "@ca"}}, "InvalidParameter"),
    ({**HTTPS, "Certificate": {"SSLMode": "MUTUAL", "CertId": "@server", "CertCaId": "@api"}},
     "InvalidParameter"),
    ({**HTTPS, "Certificate": {"CertId": "Nope1234"}}, "InvalidParameter"),
    ({**HTTPS, "Certificate": {"CertId": "@expired"}}, "InvalidParameter"),
    ({**HTTPS, "SniSwitch": 1, "Certificate": {"CertId": "@server"}}, "InvalidParameter"),
    ({**HTTPS, "Certificate": {"CertId": "@server"},
      "MultiCertInfo": {"SSLMode": "UNIDIRECTIONAL", "CertList": [{"CertId": "@server"}]}},
     "InvalidParameter"),
    ({"Protocol": "HTTP", "Certificate": {"CertId": "@server"}}, "InvalidParameter"),
    ({"Protocol": "HTTP", "HealthCheck": {"HealthSwitch": 1}}, "InvalidParameterValue"),
    ({"Protocol": "HTTP", "Scheduler": "WRR"}, "InvalidParameterValue"),
    ({"Protocol": "HTTPS", "SessionExpireTime": 60, "SniSwitch": 1}, "InvalidParameterValue"),
    ({"Protocol": "TCP", "Scheduler": "IP_HASH"}, "InvalidParameterValue"),
    ({"Protocol": "TCP", "SessionExpireTime": 10}, "InvalidParameterValue.Range"),
    ({"Protocol": "TCP", "HealthCheck": {"TimeOut": 5, "IntervalTime": 5}},
     "InvalidParameterValue"),
    ({"Protocol": "TCP", "HealthCheck": {"CheckType": "HTTP"}}, "MissingParameter"),
    ({"Protocol": "UDP", "HealthCheck": {"CheckType": "TCP"}}, "InvalidParameterValue"),
    ({"Protocol": "TCP", "SniSwitch": 1}, "InvalidParameterValue"),
    ({"Protocol": "TCP", "ListenerNames": ["a", "b"]}, "InvalidParameterValue"),
    ({"Protocol": "TCP", "EndPort": 90}, "UnsupportedOperation"),
    ({"Protocol": "SCTP"}, "InvalidParameterValue"),
    ({"Protocol": "TCP", "Ports": [0]}, "InvalidParameterValue.Range"),
])
def test_create_refusals(clb: Any, ssl: Any, pki: dict, certs: dict, lb: str, fields: dict,
                         code: str) -> None:
    certs = {**certs, "expired": call(ssl, "UploadCertificate",
                                      CertificatePublicKey=pki["expired"].cert,
                                      CertificatePrivateKey=pki["expired"].key).CertificateId}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return certs[value[1:]] if isinstance(value, str) and value.startswith("@") else value

    request = {"LoadBalancerId": lb, "Ports": [443], **resolve(fields)}
    exc = error_of(clb, "CreateListener", **request)
    assert _code(exc) == code, exc
    assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 0


def test_inline_certificates_are_uploaded(clb: Any, ssl: Any, pki: dict, lb: str) -> None:
    made = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                Certificate={"SSLMode": "MUTUAL", "CertName": "srv",
                             "CertContent": pki["server"].cert,
                             "CertKey": pki["server"].key, "CertCaName": "ca",
                             "CertCaContent": pki["ca"].cert})
    got = call(clb, "DescribeListeners", LoadBalancerId=lb,
               ListenerIds=made.ListenerIds).Listeners[0].Certificate
    srv = call(ssl, "DescribeCertificateDetail", CertificateId=got.CertId)
    ca = call(ssl, "DescribeCertificateDetail", CertificateId=got.CertCaId)
    assert (srv.CertificateType, srv.Alias, srv.Domain) == ("SVR", "srv", "www.example.com")
    assert (ca.CertificateType, ca.Alias) == ("CA", "ca")
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[444], Protocol="HTTPS",
                   Certificate={"CertName": "x", "CertContent": pki["server"].cert,
                                "CertKey": pki["api"].key})
    assert "code:InvalidParameter" in str(exc) and "do not match" in exc.message
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[444], Protocol="HTTPS",
                   Certificate={"CertContent": pki["server"].cert})
    assert "code:MissingParameter" in str(exc) and "Certificate.CertKey" in exc.message


def test_multi_certificates(clb: Any, ssl: Any, pki: dict, certs: dict, lb: str) -> None:
    from tests.emulator import helpers

    _, ca_cert, ca_key = helpers.make_ca("RSA issuing CA")
    rsa_leaf = _rsa_leaf(ca_cert, ca_key)
    rsa_id = call(ssl, "UploadCertificate", CertificatePublicKey=rsa_leaf.cert,
                  CertificatePrivateKey=rsa_leaf.key).CertificateId
    assert call(ssl, "DescribeCertificateDetail",
                CertificateId=rsa_id).EncryptAlgorithm == "RSA 2048"
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                MultiCertInfo={"SSLMode": "MUTUAL", "CertList": [
                    {"CertId": certs["server"]}, {"CertId": rsa_id}, {"CertId": certs["ca"]}]})
    got = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners[0].Certificate
    assert (got.CertId, got.ExtCertIds, got.CertCaId) == (certs["server"], [rsa_id], certs["ca"])
    exc = error_of(clb, "CreateListener", LoadBalancerId=lb, Ports=[444], Protocol="HTTPS",
                   MultiCertInfo={"SSLMode": "UNIDIRECTIONAL", "CertList": [
                       {"CertId": certs["server"]}, {"CertId": certs["api"]}]})
    assert "code:InvalidParameter" in str(exc) and "one algorithm" in exc.message


def _rsa_leaf(ca_cert: Any, ca_key: Any) -> Pem:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=2)).sign(ca_key, hashes.SHA256()))
    return Pem(cert.public_bytes(serialization.Encoding.PEM).decode(),
               key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode())


def test_modify_listener(clb: Any, certs: dict, lb: str) -> None:
    https = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                 Certificate={"CertId": certs["server"]}).ListenerIds[0]
    done(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=https, ListenerName="renamed",
         Certificate=_mutual(certs))
    got = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners[0]
    assert got.ListenerName == "renamed" and got.Certificate.SSLMode == "MUTUAL"
    assert got.Certificate.CertCaId == certs["ca"]
    exc = error_of(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=https, Scheduler="WRR")
    assert "code:InvalidParameterValue" in str(exc)
    exc = error_of(clb, "ModifyListener", LoadBalancerId=lb, ListenerId="lbl-00000000",
                   ListenerName="x")
    assert "code:InvalidParameter.ListenerIdNotFound" in str(exc)

    tcp = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[22], Protocol="TCP",
               HealthCheck={"IntervalTime": 10}).ListenerIds[0]
    done(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=tcp, Scheduler="IP_HASH",
         SessionExpireTime=300, HealthCheck={"HealthNum": 5})
    got = call(clb, "DescribeListeners", LoadBalancerId=lb, Port=22).Listeners[0]
    assert (got.Scheduler, got.SessionExpireTime) == ("IP_HASH", 300)
    assert (got.HealthCheck.IntervalTime, got.HealthCheck.HealthNum) == (10, 5)
    assert got.IdleConnectTimeout == 900


def test_sni_can_be_switched_on_but_never_off(clb: Any, certs: dict, lb: str) -> None:
    lst = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
               Certificate=_mutual(certs)).ListenerIds[0]
    done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=lst,
         Rules=[{"Domain": "www.example.com", "Url": "/"}])
    done(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=lst, SniSwitch=1)
    got = call(clb, "DescribeListeners", LoadBalancerId=lb).Listeners[0]
    assert got.SniSwitch == 1 and got.Certificate is None
    assert got.Rules[0].Certificate.CertId == certs["server"]  # the domain kept its cert
    assert got.Rules[0].Certificate.CertCaId == certs["ca"]
    exc = error_of(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=lst, SniSwitch=0)
    assert "code:InvalidParameterValue" in str(exc)
    exc = error_of(clb, "ModifyListener", LoadBalancerId=lb, ListenerId=lst,
                   Certificate=_mutual(certs))
    assert "code:InvalidParameter" in str(exc) and "ModifyDomainAttributes" in exc.message


def test_delete_listener_cascades_and_frees_certificates(clb: Any, ssl: Any, certs: dict,
                                                         lb: str) -> None:
    lst = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
               Certificate=_mutual(certs)).ListenerIds[0]
    loc = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=lst,
               Rules=[{"Domain": "www.example.com", "Url": "/"}]).LocationIds[0]
    done(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=lst, LocationId=loc,
         Targets=[{"InstanceId": "ins-rs1", "Port": 80}])
    exc = error_of(ssl, "DeleteCertificate", CertificateId=certs["ca"])
    assert "code:FailedOperation.DeleteResourceFailed" in str(exc)
    exc = error_of(clb, "DeleteListener", LoadBalancerId=lb, ListenerId="lbl-00000000")
    assert "code:InvalidParameter.ListenerIdNotFound" in str(exc)
    done(clb, "DeleteListener", LoadBalancerId=lb, ListenerId=lst)
    assert call(clb, "DescribeListeners", LoadBalancerId=lb).TotalCount == 0
    assert call(clb, "DescribeTargets", LoadBalancerId=lb).Listeners == []
    assert call(ssl, "DeleteCertificate", CertificateId=certs["ca"]).DeleteResult is True
