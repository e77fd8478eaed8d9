"""A backend that records the exact bytes of every request it receives, and answers 200 `ok`.

The data plane sends one request per upstream connection, framed by itself (Content-Length or
re-framed chunks), so the recorder reads one head and the body that head announces, keeps the
raw bytes, answers, and closes. `hold` makes it wait before answering (a slow backend)."""

from __future__ import annotations

import socket
import threading

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class Recorder:
    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(64)
        self.address, self.port = self.sock.getsockname()[:2]
        self.received: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        data = b""
        try:
            while not self._complete(data):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            with self._lock:
                if data:
                    self.received.append(data)
            if self._complete(data):
                conn.sendall(ANSWER)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _complete(data: bytes) -> bool:
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            return False
        lines = [line.lower() for line in head.split(b"\r\n")[1:]]
        for line in lines:
            if line.startswith(b"content-length:"):
                return len(body) >= int(line.split(b":", 1)[1])
            if line.startswith(b"transfer-encoding:"):
                return body == b"0\r\n\r\n" or body.endswith(b"\r\n0\r\n\r\n")
        return True

    def close(self) -> None:
        self.sock.close()
