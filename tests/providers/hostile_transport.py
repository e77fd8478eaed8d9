"""A local TCP server that misbehaves below HTTP's semantics: it never answers, trickles its
answer a byte at a time, resets the connection, closes it without a word, cuts the body
short, or speaks plain HTTP where the client expects TLS. Shared by the provider and CLI
tests of a hostile endpoint (issue 10)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

API_TIMEOUT = 1.0  # MTLSFORM_API_TIMEOUT for these tests: a silent endpoint costs this much


def _read_request(conn: socket.socket) -> bytes:
    """The whole HTTP request (head and Content-Length body), or what came before EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


def _head(length: int) -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    stop.wait(API_TIMEOUT * 10)  # longer than the client waits; ended by the test's end


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    conn.sendall(_head(4096))
    while not stop.wait(API_TIMEOUT / 5):  # each byte well within a socket timeout
        conn.sendall(b" ")


def _reset(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _close(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)


def _cut(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    conn.sendall(_head(200) + b'{"Response": {"TotalCount": 1, ')


def _plain_http(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)  # a TLS ClientHello, answered in plain HTTP
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@dataclass(frozen=True)
class Transport:
    serve: Callable[[socket.socket, threading.Event], None]
    scheme: str  # what the client is told to speak
    code: str  # the code of the one error the user gets
    words: str  # what the message says happened
    retried: bool  # network failures are retried within the bounded attempts


TRANSPORTS: dict[str, Transport] = {
    "never answers": Transport(_silent, "http", "ClientNetworkError",
                               f"no answer within {API_TIMEOUT:g} s", True),
    "trickles its answer": Transport(_trickle, "http", "ClientNetworkError",
                                     "was still arriving after", True),
    "resets the connection": Transport(_reset, "http", "ClientNetworkError", "reset", True),
    "closes without an answer": Transport(_close, "http", "ClientNetworkError", "closed", True),
    "cuts the answer short": Transport(_cut, "http", "ClientNetworkError", "broke off", True),
    "speaks plain HTTP to TLS": Transport(_plain_http, "https", "TlsFailed",
                                          "does not speak TLS", False),
}


@contextmanager
def misbehaving(name: str) -> Iterator[tuple[str, list[float]]]:
    """A server doing TRANSPORTS[name] to every connection: (its URL, one entry per
    connection accepted)."""
    behaviour = TRANSPORTS[name]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    accepted: list[float] = []
    workers: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        try:
            behaviour.serve(conn, stop)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(time.monotonic())
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"{behaviour.scheme}://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        acceptor.join()
        listener.close()
        for worker in workers:
            worker.join(timeout=5)
