"""Dual certificates served by the data plane (real handshakes): a listener given an ECDSA and
an RSA server certificate through the official SDK (MultiCertInfo) serves each to the client
whose offer can use it, as OpenSSL's own client sees it (`openssl s_client` with only RSA or
only ECDSA cipher suites, TLS 1.2); made single through the SDK, only the one is left."""

from __future__ import annotations

import re
import subprocess

from tests.dataplane.pki import make_leaf
from tests.dataplane.sdk import call, done
from tests.dataplane.support import DOMAIN, eventually


def served_key(host: str, port: int, suites: str) -> str:
    """What `openssl s_client -tls1_2 -cipher SUITES` was served: "2048-bit RSA" or
    "256-bit EC", or "refused"."""
    answer = subprocess.run(
        ["openssl", "s_client", "-connect", f"{host}:{port}", "-servername", DOMAIN,
         "-tls1_2", "-cipher", suites],
        input="", capture_output=True, text=True, timeout=30)
    size = re.search(r"Server public key is (\d+) bit", answer.stdout)
    if "BEGIN CERTIFICATE" not in answer.stdout or size is None:
        return "refused"
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=answer.stdout,
                          capture_output=True, text=True, timeout=30).stdout
    kind = "RSA" if "rsaEncryption" in text else "EC" if "id-ecPublicKey" in text else "?"
    return f"{size.group(1)}-bit {kind}"


def test_each_of_two_certificates_goes_to_the_client_that_can_use_it(emulator, pki,
                                                                      start_plane):
    emu, clb, ssl_api = emulator
    plane = start_plane(emu.world)
    rsa_server = make_leaf(pki.ca, DOMAIN, dns=(DOMAIN,), usage="server", rsa_key=True)
    ids = {name: call(ssl_api, "UploadCertificate", CertificatePublicKey=leaf.cert_pem,
                      CertificatePrivateKey=leaf.key_pem).CertificateId
           for name, leaf in (("ecdsa", pki.server), ("rsa", rsa_server))}
    lb_id = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
                 LoadBalancerName="web").LoadBalancerIds[0]
    listener = done(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[443], Protocol="HTTPS",
                    MultiCertInfo={"SSLMode": "UNIDIRECTIONAL", "CertList": [
                        {"CertId": ids["rsa"]}, {"CertId": ids["ecdsa"]}]}).ListenerIds[0]
    done(clb, "CreateRule", LoadBalancerId=lb_id, ListenerId=listener,
         Rules=[{"Domain": DOMAIN, "Url": "/"}])
    eventually(lambda: plane.applied_version == emu.world.version)
    endpoint = plane.endpoint(listener)
    host, port = endpoint.host, endpoint.bound_port
    assert served_key(host, port, "aRSA") == "2048-bit RSA"
    assert served_key(host, port, "aECDSA") == "256-bit EC"

    done(clb, "ModifyListener", LoadBalancerId=lb_id, ListenerId=listener,
         Certificate={"SSLMode": "UNIDIRECTIONAL", "CertId": ids["ecdsa"]})
    eventually(lambda: plane.applied_version == emu.world.version)
    assert served_key(host, port, "aECDSA") == "256-bit EC"
    assert served_key(host, port, "aRSA") == "refused"
