"""`mtlsform emulator serve --data-plane --port-offset N`: the walk-through's last step, for real.

The CLI runs in its own process; the listener is made through the official SDK; curl gets
answers from rs-1 and rs-2 with the client certificate and is refused without it, and the
refusal appears in the emulator's log on stderr.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.dataplane.sdk import call, clients, done
from tests.dataplane.support import DOMAIN, SUBNET, curl, new_address


@pytest.fixture
def serve(tmp_path, port_offset):
    rs1, rs2 = new_address(91), new_address(91)
    command = [sys.executable, "-m", "mtlsform", "emulator", "serve", "--port", "0",
               "--data-dir", str(tmp_path / "emu"), "--task-delay", "0.02",
               "--rate-limit", "off", "--instance", f"ins-rs1=rs-1@{rs1}",
               "--instance", f"ins-rs2=rs-2@{rs2}", "--data-plane",
               "--port-offset", str(port_offset)]
    log = (tmp_path / "stderr.log").open("w+")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                               env={**os.environ, "NO_COLOR": "1"})
    endpoint = None
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"endpoint\s+http://(\S+)", line)
        if found:
            endpoint = found.group(1)
        if line.startswith("Press Ctrl-C"):
            break
    assert endpoint, "the emulator printed no endpoint"
    yield endpoint, log
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    process.stdout.close()
    log.close()


def test_serve_with_data_plane_answers_curl(serve, pki, port_offset):
    endpoint, log = serve
    clb, ssl_api = clients(endpoint)
    server = call(ssl_api, "UploadCertificate", CertificatePublicKey=pki.server.cert_pem,
                  CertificatePrivateKey=pki.server.key_pem).CertificateId
    ca = call(ssl_api, "UploadCertificate", CertificatePublicKey=pki.ca.cert_pem,
              CertificateType="CA").CertificateId
    vip = f"127.64.{SUBNET}.{(SUBNET * 11) % 250 + 1}"
    lb_id = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN", Vip=vip).LoadBalancerIds[0]
    listener_id = done(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[443],
                       Protocol="HTTPS", Certificate={
                           "SSLMode": "MUTUAL", "CertId": server, "CertCaId": ca}).ListenerIds[0]
    location_id = done(clb, "CreateRule", LoadBalancerId=lb_id, ListenerId=listener_id,
                       Rules=[{"Domain": DOMAIN, "Url": "/"}]).LocationIds[0]
    done(clb, "RegisterTargets", LoadBalancerId=lb_id, ListenerId=listener_id,
         LocationId=location_id, Targets=[{"InstanceId": "ins-rs1", "Port": 80},
                                          {"InstanceId": "ins-rs2", "Port": 80}])
    port = 443 + port_offset

    def ask():
        return curl(DOMAIN, vip, port, ca_file=pki.ca_file, cert_files=pki.files("client"))

    deadline = time.monotonic() + 10
    while (first := ask()).returncode != 0:  # the data plane applies the change right after
        assert time.monotonic() < deadline, first.stderr
        time.sleep(0.05)
    names = [first.stdout.splitlines()[0]] + [ask().stdout.splitlines()[0] for _ in range(3)]
    assert sorted(names) == ["rs-1", "rs-1", "rs-2", "rs-2"]
    assert names[0] != names[1] and names[1] != names[2]
    refused = curl(DOMAIN, vip, port, ca_file=pki.ca_file)
    assert refused.returncode == 56
    deadline = time.monotonic() + 10
    while "no client certificate" not in (text := (log.seek(0), log.read())[1]):
        assert time.monotonic() < deadline, text
        time.sleep(0.05)
    assert f"handshake refused on {listener_id} {vip}:{port}" in text
