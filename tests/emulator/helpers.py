"""Test material for the emulator tests: certificates (ecdsa-p256), SDK clients, task waiting."""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tencentcloud.clb.v20180317 import clb_client
from tencentcloud.clb.v20180317 import models as clb_models
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssl.v20191205 import models as ssl_models
from tencentcloud.ssl.v20191205 import ssl_client

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

REGION = "ap-guangzhou"


@dataclass
class Pem:
    cert: str
    key: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "Test Root CA", days: int = 30) -> tuple[Pem, Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return Pem(_pem(cert), _key(key)), cert, key


def make_leaf(ca_cert: Any, ca_key: Any, cn: str, dns: list[str] | None = None,
              days: int = 30, expired: bool = False) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=10 if expired else 1)
    end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    return Pem(_pem(builder.sign(ca_key, hashes.SHA256())), _key(key))


def _pem(cert: Any) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def profile(emu: Any) -> ClientProfile:
    http = HttpProfile(protocol=emu.scheme, endpoint=emu.endpoint, reqTimeout=30)
    if emu.ca_path is not None:
        http.certification = str(emu.ca_path)
    return ClientProfile(httpProfile=http, language="en-US")


def cred(secret_id: str = DEFAULT_SECRET_ID, secret_key: str = DEFAULT_SECRET_KEY) -> Any:
    return credential.Credential(secret_id, secret_key)


def clb(emu: Any, region: str = REGION, **kw: Any) -> clb_client.ClbClient:
    return clb_client.ClbClient(cred(**kw), region, profile(emu))


def ssl(emu: Any, **kw: Any) -> ssl_client.SslClient:
    return ssl_client.SslClient(cred(**kw), REGION, profile(emu))


def common(emu: Any, service: str = "clb", region: str | None = REGION, **kw: Any,
           ) -> CommonClient:
    version = "2018-03-17" if service == "clb" else "2019-12-05"
    return CommonClient(service, version, cred(**kw), region, profile(emu))


def request(module: Any, name: str, **fields: Any) -> Any:
    """An SDK request model filled from keyword fields (nested values as plain JSON)."""
    req = getattr(module, name + "Request")()
    req.from_json_string(json.dumps(fields))
    return req


def call(client: Any, action: str, **fields: Any) -> Any:
    module = clb_models if isinstance(client, clb_client.ClbClient) else ssl_models
    return getattr(client, action)(request(module, action, **fields))


def error_of(client: Any, action: str, **fields: Any) -> TencentCloudSDKException:
    try:
        call(client, action, **fields)
    except TencentCloudSDKException as exc:
        return exc
    raise AssertionError(f"{action} succeeded; an error was expected")


def wait(client: Any, request_id: str, timeout: float = 10.0) -> Any:
    """Polls DescribeTaskStatus until the task leaves status 2; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status = call(client, "DescribeTaskStatus", TaskId=request_id)
        if status.Status != 2 or time.monotonic() > deadline:
            return status
        time.sleep(0.01)


def done(client: Any, action: str, **fields: Any) -> Any:
    """Calls an async action and waits until its task succeeded; returns the action's answer."""
    resp = call(client, action, **fields)
    status = wait(client, resp.RequestId)
    assert status.Status == 0, (action, status.Message)
    return resp


def raw(emu: Any, action: str | None, body: bytes | str = b"{}", *, service: str = "clb",
        version: str | None = None, secret_id: str = DEFAULT_SECRET_ID,
        secret_key: str = DEFAULT_SECRET_KEY, timestamp: int | None = None,
        headers: dict[str, str] | None = None, sign: bool = True, method: str = "POST",
        path: str = "/", query: str = "", signed: tuple[str, ...] = ("content-type", "host"),
        region: str | None = REGION) -> tuple[int, dict[str, str], Any]:
    """One hand-made HTTP request (TC3-signed unless `sign=False`); (status, headers, JSON)."""
    import http.client

    from mtlsform.emulator import signing

    data = body.encode() if isinstance(body, str) else body
    ts = int(time.time()) if timestamp is None else timestamp
    hdrs = {"Content-Type": "application/json", "Host": emu.endpoint,
            "X-TC-Timestamp": str(ts)}
    if action is not None:
        hdrs["X-TC-Action"] = action
    hdrs["X-TC-Version"] = version or ("2018-03-17" if service == "clb" else "2019-12-05")
    if region:
        hdrs["X-TC-Region"] = region
    hdrs.update(headers or {})
    if sign:
        lower = {k.lower(): v for k, v in hdrs.items()}
        request = signing.SignedRequest(method, path, query, lower, data)
        hdrs["Authorization"] = signing.authorization_header(secret_id, secret_key, service, ts,
                                                             request, signed)
    host, port = emu.endpoint.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path + ("?" + query if query else ""), body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, dict(resp.getheaders()), json.loads(payload) if payload else None
    finally:
        conn.close()


def code_of(answer: Any) -> str | None:
    error = answer["Response"].get("Error")
    return error["Code"] if error else None
