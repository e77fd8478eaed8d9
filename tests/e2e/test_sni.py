"""SNI on, end to end: stacks/sni.yaml serves a one-way domain and a mutual one on one listener;
the real curl sees each domain's behaviour, and `mtlsform verify` passes."""

from __future__ import annotations

from collections import Counter

import pytest

from mtlsform.cli.main import run
from tests.e2e.cloud import state_attributes
from tests.e2e.conftest import free_offset, mtlsform, run_curl

pytestmark = pytest.mark.e2e

DEMO = [("127.32.0.1", 80), ("127.32.0.1", 8080), ("127.32.0.2", 8080)]


def test_sni_walkthrough(stacks, environ, serve, curl, capsys, tmp_path):
    stack = stacks / "sni.yaml"
    assert run(["apply", str(stack), "--auto-approve"]) == 0
    capsys.readouterr()
    vip = state_attributes(stacks, "sni", "load_balancer.edge")["vip"]
    # The server certificates' CA is not exported (only the API client's is): take it from
    # the state, as `mtlsform show` would show it.
    server_ca = tmp_path / "server-ca.crt"
    server_ca.write_text(state_attributes(stacks, "sni", "certificate.ca")["certificate_pem"])
    client = stacks / "out" / "api-client-1"
    cert = (client / "api-client.crt", client / "api-client.key")

    offset = free_offset([(vip, 443), *DEMO])
    port = 443 + offset
    served = serve(stacks / ".mtlsform" / "emulator", offset, (vip, port))

    # www.example.com: one-way TLS, no client certificate needed
    www = run_curl(curl, "www.example.com", vip, port, ca=server_ca, cert=None)
    assert (www.returncode, www.status, www.first_line) == (0, 200, "rs-1"), www
    # api.example.com: mutual TLS with the API clients' CA; api-2 (on rs-2) has weight 20
    answers = [run_curl(curl, "api.example.com", vip, port, ca=server_ca, cert=cert)
               for _ in range(3)]
    assert {(a.returncode, a.status) for a in answers} == {(0, 200)}, answers
    assert Counter(a.first_line for a in answers) == {"rs-2": 2, "rs-1": 1}
    assert "x-client-cert-subject: CN=api-client-1" in answers[0].body
    refused = run_curl(curl, "api.example.com", vip, port, ca=server_ca, cert=None)
    assert refused.returncode == 56, refused
    assert "alert certificate required" in refused.stderr
    served.stop()

    checked = mtlsform(["verify", "stacks/sni.yaml"], environ, stacks.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[-1] == "9 passed, 0 failed, 3 skipped: verify passed."
    assert any("api-1 7, api-2 13 of 20 (weights 10:20" in line for line in lines)
    assert sum(1 for line in lines if "one-way TLS" in line) == 3
