"""Pure pieces of the wire: ClientHello SNI, sticky cookies, forwarded headers, HTTP framing."""

import ssl

import pytest

from mtlsform.emulator.dataplane.bodies import body_framing
from mtlsform.emulator.dataplane.clienthello import parse_client_hello, record_complete
from mtlsform.emulator.dataplane.config import HealthCheckConfig
from mtlsform.emulator.dataplane.headers import forwarded_headers, response_headers
from mtlsform.emulator.dataplane.http1 import Head, HttpError
from mtlsform.emulator.dataplane.sessions import SessionCookies, cookie_value
from mtlsform.emulator.dataplane.tlscontexts import ClientCertificate


def client_hello(server_name: str | None) -> bytes:
    """The first flight a real Python/OpenSSL client sends."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_client_hello_server_name_is_read_from_real_hellos():
    data = client_hello("WWW.Example.com")
    assert record_complete(data)
    hello = parse_client_hello(data)
    assert (hello.complete, hello.tls, hello.server_name) == (True, True, "www.example.com")
    assert parse_client_hello(client_hello(None)).server_name is None


def test_client_hello_partial_garbage_and_plain_http():
    data = client_hello("www.example.com")
    assert not record_complete(data[:40])
    assert parse_client_hello(data[:40]).complete is False
    assert parse_client_hello(b"GET / HTTP/1.1\r\n").tls is False
    assert parse_client_hello(b"\x16\x03\x01\x00\x05\x01\xff\xff\xff\xff").server_name is None
    assert parse_client_hello(b"").complete is False


def test_sticky_cookie_round_trip_expiry_and_forgery():
    cookies = SessionCookies(b"k" * 32)
    value = cookies.issue("lbl-1/loc-1", ("ins-rs1", 80), 60, now=1000)
    assert cookies.read("lbl-1/loc-1", value, now=1059) == ("ins-rs1", 80)
    assert cookies.read("lbl-1/loc-1", value, now=1060) is None  # expired
    assert cookies.read("lbl-1/loc-2", value, now=1000) is None  # another rule
    assert cookies.read("lbl-1/loc-1", value.replace(".", "x", 1), now=1000) is None
    assert SessionCookies(b"other" * 7).read("lbl-1/loc-1", value, now=1000) is None
    assert cookies.read("lbl-1/loc-1", "garbage", now=1000) is None
    assert cookie_value("a=1; mtlsform_session=xyz; b=2", "mtlsform_session") == "xyz"
    assert cookie_value(None, "x") is None


CERT = ClientCertificate(subject="CN=client-1,O=Ünïcode", issuer="CN=Test CA", serial="1f",
                         fingerprint_sha256="ab" * 32, not_after="2030-01-01T00:00:00Z")


def test_forwarded_headers_strip_spoofed_client_cert_headers():
    head = Head(("GET", "/", "HTTP/1.1"), [
        ("Host", "www.example.com"), ("X-Client-Verify", "SUCCESS"),
        ("x-client-cert-subject", "CN=admin"), ("X-Client-Cert-Fingerprint", "00"),
        ("X-Forwarded-Proto", "http"), ("X-Forwarded-For", "10.0.0.1"),
        ("Connection", "keep-alive, X-Secret"), ("X-Secret", "hop"), ("Accept", "*/*"),
        ("Content-Length", "0")])
    out = forwarded_headers(head, client_ip="127.0.0.1", proto="https", certificate=None)
    names = [name.lower() for name, _ in out]
    assert "x-client-cert-subject" not in names and "x-secret" not in names
    assert "connection" not in names and "content-length" not in names
    assert dict(out)["X-Client-Verify"] == "NONE"
    assert dict(out)["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"
    assert dict(out)["X-Forwarded-Proto"] == "https"
    assert names.count("x-client-verify") == 1 and names.count("x-forwarded-proto") == 1

    out = dict(forwarded_headers(head, client_ip="127.0.0.1", proto="https", certificate=CERT))
    assert out["X-Client-Verify"] == "SUCCESS"
    assert out["X-Client-Cert-Subject"] == "CN=client-1,O=%C3%9Cn%C3%AFcode"
    assert out["X-Client-Cert-Fingerprint"] == "ab" * 32
    assert out["X-Client-Cert-Serial"] == "1f"


def test_response_headers_drop_hop_by_hop():
    head = Head(("HTTP/1.1", "200", "OK"), [("Connection", "close"), ("Keep-Alive", "5"),
                                            ("Content-Length", "3"), ("X-App", "1")])
    assert response_headers(head) == [("X-App", "1")]


def test_body_framing_and_smuggling_guards():
    def request(*headers):
        return Head(("POST", "/", "HTTP/1.1"), list(headers))

    assert body_framing(request()) == ("none", 0)
    assert body_framing(request(("Content-Length", "12"))) == ("length", 12)
    assert body_framing(request(("Transfer-Encoding", "chunked"))) == ("chunked", 0)
    for bad in [request(("Content-Length", "1"), ("Transfer-Encoding", "chunked")),
                request(("Content-Length", "1"), ("Content-Length", "2")),
                request(("Content-Length", "-1"))]:
        with pytest.raises(HttpError) as caught:
            body_framing(bad)
        assert caught.value.status == 400
    with pytest.raises(HttpError) as caught:
        body_framing(request(("Transfer-Encoding", "gzip, chunked")))
    assert caught.value.status == 501
    response = Head(("HTTP/1.1", "200", "OK"), [])
    assert body_framing(response, request_method="GET") == ("eof", 0)
    assert body_framing(response, request_method="HEAD") == ("none", 0)
    assert body_framing(Head(("HTTP/1.1", "304", "Not Modified"), []),
                        request_method="GET") == ("none", 0)


def test_health_check_http_code_bitmask():
    only_2xx_3xx = HealthCheckConfig(http_code=2 | 4)
    assert [only_2xx_3xx.accepts(s) for s in (101, 200, 302, 404, 503)] == [
        False, True, True, False, False]
    assert all(HealthCheckConfig(http_code=31).accepts(s) for s in (100, 200, 300, 400, 500))
    assert not HealthCheckConfig(http_code=16).accepts(200)
    assert not HealthCheckConfig().accepts(999)
