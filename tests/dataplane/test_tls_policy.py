"""The TLS policy of a customized configuration, enforced by the data plane (real handshakes).

Configured through the official SDK: without a configuration a listener accepts CLB's default,
TLS 1.0 to 1.3 (this machine's OpenSSL 3 allows TLS 1.0 and 1.1 at security level 0 only,
which both sides set here); bound to a domain, `ssl_protocols TLSv1.2 TLSv1.3` refuses TLS 1.0
and 1.1 and `ssl_ciphers` refuses a CBC-SHA1 cipher; weakened through the SDK, they are
accepted again.
"""

import socket
import ssl
import warnings

from tests.dataplane.sdk import call, done
from tests.dataplane.support import DOMAIN, eventually

STRICT = "ssl_protocols TLSv1.2 TLSv1.3;\nssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;"
WEAK_CIPHER = "ECDHE-ECDSA-AES128-SHA"


def handshake(host: str, port: int, version: ssl.TLSVersion, ciphers: str = "DEFAULT",
              server_name: str = DOMAIN) -> str:
    """The version and cipher agreed, or "refused"."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    context.set_ciphers(ciphers + ":@SECLEVEL=0")
    try:
        with socket.create_connection((host, port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=server_name) as tls:
            cipher = tls.cipher()
            return f"{tls.version()} {cipher[0] if cipher else ''}"
    except (ssl.SSLError, ConnectionError):
        return "refused"


def test_policy_bound_to_a_domain_is_enforced_and_weakening_it_shows(emulator, pki,
                                                                     start_plane):
    emu, clb, ssl_api = emulator
    plane = start_plane(emu.world)
    server = call(ssl_api, "UploadCertificate", CertificatePublicKey=pki.server.cert_pem,
                  CertificatePrivateKey=pki.server.key_pem).CertificateId
    lb_id = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
                 LoadBalancerName="web").LoadBalancerIds[0]
    plain = done(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[443], Protocol="HTTPS",
                 Certificate={"SSLMode": "UNIDIRECTIONAL", "CertId": server}).ListenerIds[0]
    sni = done(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[8443], Protocol="HTTPS",
               SniSwitch=1).ListenerIds[0]
    done(clb, "CreateRule", LoadBalancerId=lb_id, ListenerId=plain,
         Rules=[{"Domain": DOMAIN, "Url": "/"}])
    done(clb, "CreateRule", LoadBalancerId=lb_id, ListenerId=sni, Rules=[
        {"Domain": domain, "Url": "/", "Certificate": {"SSLMode": "UNIDIRECTIONAL",
                                                        "CertId": server}}
        for domain in (DOMAIN, "api.example.com")])
    eventually(lambda: plane.applied_version == emu.world.version)
    a, b = plane.endpoint(plain), plane.endpoint(sni)
    tls1, tls11, tls12 = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2
    assert handshake(a.host, a.bound_port, tls1).startswith("TLSv1 ")  # CLB's default
    assert handshake(a.host, a.bound_port, tls11).startswith("TLSv1.1 ")

    config = call(clb, "SetCustomizedConfigForLoadBalancer", OperationType="ADD",
                  ConfigName="strict", ConfigContent=STRICT).ConfigId
    call(clb, "AssociateCustomizedConfig", UconfigId=config, BindList=[
        {"LoadBalancerId": lb_id, "ListenerId": plain, "Domain": DOMAIN},
        {"LoadBalancerId": lb_id, "ListenerId": sni, "Domain": DOMAIN}])
    eventually(lambda: plane.applied_version == emu.world.version)
    for endpoint in (a, b):
        assert handshake(endpoint.host, endpoint.bound_port, tls1) == "refused"
        assert handshake(endpoint.host, endpoint.bound_port, tls11) == "refused"
        assert handshake(endpoint.host, endpoint.bound_port, tls12, WEAK_CIPHER) == "refused"
        assert handshake(endpoint.host, endpoint.bound_port, tls12) == (
            "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256")
    # SNI on: the other domain of the listener keeps the default
    assert handshake(b.host, b.bound_port, tls1, server_name="api.example.com") != "refused"

    call(clb, "SetCustomizedConfigForLoadBalancer", OperationType="UPDATE", UconfigId=config,
         ConfigContent="ssl_protocols TLSv1 TLSv1.1 TLSv1.2;")
    eventually(lambda: plane.applied_version == emu.world.version)
    assert handshake(a.host, a.bound_port, tls1).startswith("TLSv1 ")
    assert handshake(b.host, b.bound_port, tls12, WEAK_CIPHER) == f"TLSv1.2 {WEAK_CIPHER}"
