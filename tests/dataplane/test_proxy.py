"""HTTP behaviour of the proxy: keep-alive, headers, bodies, routing answers, persistence."""

import http.client
import json
import socket

from mtlsform.emulator.dataplane import RouteConfig
from mtlsform.emulator.dataplane.config import HealthCheckConfig
from tests.dataplane.pki import policy
from tests.dataplane.support import (
    DOMAIN,
    client_context,
    count_backends,
    curl,
    https_request,
    sni_connection,
)


def endpoint_of(plane):
    endpoint = plane.endpoint("lbl-main")
    return endpoint.host, endpoint.bound_port


def test_keep_alive_serves_sequential_requests_on_one_connection(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca)))
    address, port = endpoint_of(plane)
    conn = sni_connection(address, port, context=client_context(pki.ca.cert_pem,
                                                                 pki.files("client")))
    replies = [https_request(address, port, connection=conn, path=f"/r{n}") for n in range(4)]
    first_socket = conn.sock
    replies.append(https_request(address, port, connection=conn))
    assert conn.sock is first_socket  # never reconnected
    conn.close()
    assert [r.backend for r in replies] == ["rs-1", "rs-2", "rs-1", "rs-2", "rs-1"]
    assert replies[1].body.splitlines()[4] == "request: GET /r1"


def test_spoofed_client_certificate_headers_never_reach_the_backend(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server)))  # one-way: no client certificate
    address, port = endpoint_of(plane)
    reply = https_request(address, port, context=client_context(pki.ca.cert_pem), headers={
        "X-Client-Verify": "SUCCESS", "X-Client-Cert-Subject": "CN=admin",
        "X-Client-Cert-Fingerprint": "00" * 32, "X-Forwarded-Proto": "http",
        "X-Forwarded-For": "203.0.113.9", "Accept": "application/json"})
    seen = json.loads(reply.body)["headers"]
    assert seen == {"x-client-verify": "NONE", "x-forwarded-proto": "https",
                    "x-forwarded-for": "203.0.113.9, 127.0.0.1"}


def test_request_bodies_are_forwarded_whole(site, pki, start_plane, tmp_path):
    plane = start_plane(site.config(policy(pki.server, pki.ca)))
    address, port = endpoint_of(plane)
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    sized = https_request(address, port, context=context, method="POST", body=b"x" * 70000,
                          headers={"Accept": "application/json"})
    assert json.loads(sized.body)["body_bytes"] == 70000
    chunked = https_request(address, port, context=context, method="PUT",
                            body=iter([b"a" * 1000, b"b" * 2345]), chunked=True,
                            headers={"Accept": "application/json",
                                     "Transfer-Encoding": "chunked"})
    assert json.loads(chunked.body)["body_bytes"] == 3345
    big = tmp_path / "big.bin"
    big.write_bytes(b"z" * 2_000_000)
    # curl sends `Expect: 100-continue` for a large POST and waits for the interim answer
    result = curl(DOMAIN, address, port, ca_file=pki.ca_file, cert_files=pki.files("client"),
                  extra=("--data-binary", f"@{big}", "-H", "Expect: 100-continue"))
    assert result.returncode == 0, result.stderr
    assert "body_bytes: 2000000" in result.stdout


def test_head_404_and_unsupported_forward_types(site, pki, start_plane):
    grpc = RouteConfig("loc-grpc", (DOMAIN,), "/grpc", forward_type="GRPC",
                       targets=site.targets((10, 10)),
                       health_check=HealthCheckConfig(enabled=False))
    config = site.config(policy(pki.server, pki.ca), extra_routes=(grpc,))
    listener = config.listeners[0]
    main = listener.routes[0]
    from dataclasses import replace

    only_app = replace(main, url="/app")
    config = replace(config, listeners=(replace(listener, routes=(only_app, grpc)),))
    plane = start_plane(config)
    address, port = endpoint_of(plane)
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    head = https_request(address, port, context=context, method="HEAD", path="/app/x")
    assert (head.status, head.body, head.backend) == (200, "", "rs-1")
    missing = https_request(address, port, context=context, path="/elsewhere")
    assert missing.status == 404 and "no forwarding rule" in missing.body
    unsupported = https_request(address, port, context=context, path="/grpc/Service/Call")
    assert unsupported.status == 501 and "GRPC" in unsupported.body


def test_https_forwarding_reaches_the_backend_over_tls(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca), forward_type="HTTPS"))
    address, port = endpoint_of(plane)
    reply = https_request(address, port,
                          context=client_context(pki.ca.cert_pem, pki.files("client")))
    assert reply.status == 200
    assert "scheme: https" in reply.body


def test_session_persistence_pins_a_client_by_cookie(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca), session_expire_time=30))
    address, port = endpoint_of(plane)
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    first = https_request(address, port, context=context)
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("mtlsform_session=") and "Max-Age=30" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie
    pinned = [https_request(address, port, context=context,
                            headers={"Cookie": cookie.split(";")[0]}) for _ in range(6)]
    assert count_backends(pinned) == {first.backend: 6}
    # without the cookie the rule keeps balancing
    assert len(count_backends([https_request(address, port, context=context)
                               for _ in range(4)])) == 2
    forged = https_request(address, port, context=context,
                           headers={"Cookie": "mtlsform_session=aW5zLXJzMjo4MA.9999999999.00"})
    assert forged.status == 200  # ignored, balanced normally


def test_plain_http_listener(site, start_plane):
    plane = start_plane(site.config(None, protocol="HTTP"))
    address, port = endpoint_of(plane)
    conn = http.client.HTTPConnection(address, port, timeout=10)
    conn.request("GET", "/", headers={"Host": DOMAIN})
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 200
    assert "x-forwarded-proto: http" in body and "x-client-verify: NONE" in body
    conn.close()


def test_malformed_requests_get_400_and_close(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server)))
    address, port = endpoint_of(plane)
    context = client_context(pki.ca.cert_pem)
    with socket.create_connection((address, port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        tls.sendall(b"POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 3\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in answer
