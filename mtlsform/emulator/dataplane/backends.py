"""Demo CVM instances: tiny HTTP(S) servers that say who they are and what they were sent.

Each demo instance listens on its private (loopback) address at every port a rule binds it on
(plus the data plane's port offset) and answers any request with 200. As plain text: its name
alone on the first line, then `key: value` lines: `instance`, `address` (where it was
reached), `scheme` (https when the rule forwards with HTTPS), `request` (method and target),
`host`, `body_bytes` (size of the request body), then every `X-Forwarded-*` / `X-Client-*`
header it received (lower-case names). With `Accept: application/json` (or `?format=json`) the
same as a JSON object. Every response carries `X-Backend-Instance` and `X-Backend-Name`.
`/healthz` answers 200 `ok`. A connection whose first byte is a TLS handshake is served over
TLS with a self-signed certificate, so rules forwarding with HTTPS work too.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import socket
import ssl
import tempfile
from typing import Any

from mtlsform.emulator.dataplane.acceptor import (
    Acceptor,
    ConnectionHandler,
    bind_error_text,
    listening_socket,
    open_stream,
    peek,
)
from mtlsform.emulator.dataplane.bodies import body_framing, discard_body
from mtlsform.emulator.dataplane.closing import cancel_and_wait, close_writer
from mtlsform.emulator.dataplane.config import InstanceConfig
from mtlsform.emulator.dataplane.http1 import (
    HttpError,
    read_head,
    serialize_head,
    wants_keep_alive,
)

log = logging.getLogger("mtlsform.emulator.dataplane")

BACKEND_INSTANCE_HEADER = "X-Backend-Instance"
BACKEND_NAME_HEADER = "X-Backend-Name"
ECHOED_PREFIXES = ("x-forwarded-", "x-client-")
CLOSE_TIMEOUT = 2.0  # graceful close of a finished connection; shutdown resets at once


def describe_request(instance: InstanceConfig, port: int, method: str, target: str,
                     headers: list[tuple[str, str]], *, scheme: str = "http",
                     body_bytes: int = 0) -> dict[str, Any]:
    """What a demo backend reports about a request it received (the JSON form)."""
    host = next((v for k, v in headers if k.lower() == "host"), "")
    echoed = {k.lower(): v for k, v in headers if k.lower().startswith(ECHOED_PREFIXES)}
    return {
        "name": instance.name,
        "instance": instance.instance_id,
        "address": f"{instance.address}:{port}",
        "scheme": scheme,
        "request": f"{method} {target}",
        "host": host,
        "body_bytes": body_bytes,
        "headers": echoed,
    }


TEXT_FIELDS = ("instance", "address", "scheme", "request", "host", "body_bytes")


def render_text(report: dict[str, Any]) -> str:
    """The plain-text form: the name alone on the first line, then `key: value` lines."""
    lines = [report["name"]]
    lines += [f"{key}: {report[key]}" for key in TEXT_FIELDS]
    lines += [f"{key}: {value}" for key, value in sorted(report["headers"].items())]
    return "\n".join(lines) + "\n"


def _demo_tls_context() -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mtlsform demo backend")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="mtlsform-demo-") as folder:
        path = os.path.join(folder, "demo.pem")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
            handle.write(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        context.load_cert_chain(path)
    return context


class DemoBackends:
    """The running demo servers, keyed by (instance ID, configured port)."""

    def __init__(self) -> None:
        # key -> (acceptor, (instance, bound port)) for every server that is listening
        self._servers: dict[tuple[str, int], tuple[Acceptor, tuple[InstanceConfig, int]]] = {}
        self._wanted: dict[tuple[str, int], tuple[InstanceConfig, int]] = {}
        self._stopped: set[str] = set()
        self._tls: ssl.SSLContext | None = None
        self.bind_errors: dict[tuple[str, int], str] = {}

    def running(self) -> list[tuple[str, int]]:
        return sorted(self._servers)

    async def reconcile(self, wanted: dict[tuple[str, int], tuple[InstanceConfig, int]]) -> None:
        """Serves exactly `wanted`: (instance ID, port) -> (instance, port to bind)."""
        self._wanted = dict(wanted)
        for key in list(self._servers):
            acceptor, bound = self._servers[key]
            if wanted.get(key) != bound or key[0] in self._stopped:
                del self._servers[key]
                await acceptor.close()
        for key, (instance, bind_port) in wanted.items():
            if key in self._servers or instance.instance_id in self._stopped:
                continue
            try:
                sock = listening_socket(instance.address, bind_port)
            except OSError as exc:
                message = bind_error_text(instance.address, bind_port, exc)
                if self.bind_errors.get(key) != message:
                    log.error("demo instance %s (%s) %s", instance.instance_id, instance.name,
                              message)
                self.bind_errors[key] = message
                continue
            self.bind_errors.pop(key, None)
            acceptor = Acceptor(sock, self._handler(instance, key[1]))
            acceptor.start()
            self._servers[key] = (acceptor, (instance, bind_port))
        for key in list(self.bind_errors):
            if key not in wanted:
                del self.bind_errors[key]

    async def stop_instance(self, instance_id: str) -> None:
        """Stops every server of an instance (as if the CVM were shut down)."""
        self._stopped.add(instance_id)
        await self.reconcile(self._wanted)

    async def start_instance(self, instance_id: str) -> None:
        """Starts a stopped instance's servers again."""
        self._stopped.discard(instance_id)
        await self.reconcile(self._wanted)

    def begin_close(self) -> list[asyncio.Task[Any]]:
        """Stops every demo server now (nothing is wanted any more until the next
        `reconcile`); returns the tasks to wait for."""
        servers = list(self._servers.values())
        self._servers.clear()
        self._wanted = {}
        return [task for acceptor, _ in servers for task in acceptor.begin_close()]

    async def close(self) -> None:
        await cancel_and_wait(self.begin_close())

    def _handler(self, instance: InstanceConfig, port: int) -> ConnectionHandler:
        async def handle(conn: socket.socket, address: tuple[Any, ...]) -> None:
            try:
                first = await peek(conn, lambda data: len(data) >= 1, timeout=10.0)
            except (TimeoutError, OSError):
                return
            context = None
            if first[:1] == b"\x16":
                if self._tls is None:
                    self._tls = _demo_tls_context()
                context = self._tls
            try:
                reader, writer = await open_stream(conn, context)
            except (OSError, ssl.SSLError, TimeoutError):
                return
            try:
                await _serve(reader, writer, instance, port,
                             "https" if context is not None else "http")
            except (OSError, HttpError, asyncio.IncompleteReadError):
                pass
            finally:
                await close_writer(writer, CLOSE_TIMEOUT)
        return handle


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 instance: InstanceConfig, port: int, scheme: str) -> None:
    while True:
        head = await read_head(reader)
        if head is None:
            return
        body_bytes = await discard_body(reader, body_framing(head))
        path = head.target.split("?", 1)[0]
        identity = [(BACKEND_INSTANCE_HEADER, instance.instance_id),
                    (BACKEND_NAME_HEADER, instance.name)]
        if path == "/healthz":
            body, content_type = b"ok\n", "text/plain; charset=utf-8"
        else:
            report = describe_request(instance, port, head.method, head.target, head.headers,
                                      scheme=scheme, body_bytes=body_bytes)
            accept = head.get("accept") or ""
            if "application/json" in accept or "format=json" in head.target:
                body = (json.dumps(report, indent=2) + "\n").encode()
                content_type = "application/json"
            else:
                body = render_text(report).encode()
                content_type = "text/plain; charset=utf-8"
        keep = wants_keep_alive(head)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                   *identity, ("Connection", "keep-alive" if keep else "close")]
        writer.write(serialize_head(("HTTP/1.1", "200", "OK"), headers))
        if head.method != "HEAD":
            writer.write(body)
        await writer.drain()
        if not keep:
            return
