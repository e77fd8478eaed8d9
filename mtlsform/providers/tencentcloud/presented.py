"""The certificate an entry presents: the SHA-256 of the leaf a real TLS handshake gets.

Used after a certificate switch to confirm the VIP serves the new one. The handshake verifies
nothing (it is the fingerprint that is compared) and sends no client certificate: with TLS 1.3
a mutual-TLS listener's leaf arrives before it can refuse us (with TLS 1.2 only, the refusal
ends the handshake first, and the entry counts as not reached). An entry that cannot be reached
gives None.

Where the handshake goes is a Presenter's answer: `VipPresenter`, the CLB's VIP at the
listener's port (plus an offset: that of `mtlsform emulator serve --data-plane`), for the
cloud and a served emulator; `EmbeddedPresenter`, a data plane of the embedded emulator's own
world, started in this process at the first check and stopped when the provider closes.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mtlsform.emulator.dataplane import PresentingPlane
    from mtlsform.emulator.world import World
    from mtlsform.providers.tencentcloud.reads import Reader

HANDSHAKE_TIMEOUT = 5.0  # seconds for the connection and the handshake
FOLLOW_WAIT = 10.0  # seconds a data plane on the VIP may take to present a switched certificate


class Presenter(Protocol):
    """Where a handshake reaches what a listener presents."""

    follow_wait: float  # seconds it may keep presenting the previous certificate (0: none)

    def address(self, load_balancer_id: str, listener_id: str,
                port: int) -> tuple[str, int] | None: ...

    def close(self) -> None: ...


class VipPresenter:
    """The CLB's VIP (read through the API) at the listener's port plus `offset`."""

    follow_wait = FOLLOW_WAIT

    def __init__(self, reader: Reader, offset: int) -> None:
        self._reader = reader
        self._offset = offset

    def address(self, load_balancer_id: str, listener_id: str,
                port: int) -> tuple[str, int] | None:
        found = self._reader.load_balancers([load_balancer_id]).get(load_balancer_id)
        if found is None or not found.vips:
            return None
        return found.vips[0], port + self._offset

    def close(self) -> None:
        pass


class EmbeddedPresenter:
    """The embedded emulator's world, served for handshakes by a data plane of its own: each
    check sees the world as it is then, so the answer is final at once (`frozen`: the world as
    it was when the provider opened, a data plane that follows no change)."""

    follow_wait = 0.0

    def __init__(self, world: World, *, frozen: bool = False) -> None:
        from mtlsform.emulator.dataplane import PresentingPlane

        self.plane: PresentingPlane = PresentingPlane(world, frozen=frozen)

    def address(self, load_balancer_id: str, listener_id: str,
                port: int) -> tuple[str, int] | None:
        return self.plane.address(listener_id)

    def close(self) -> None:
        self.plane.stop()


def presented_fingerprint(host: str, port: int, server_name: str | None,
                          timeout: float = HANDSHAKE_TIMEOUT) -> str | None:
    """The lowercase hex SHA-256 of the leaf `host:port` presents for `server_name`, or None
    when no handshake got that far (nothing listens, refused, timed out)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=server_name or None) as tls:
            leaf = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError):
        return None
    return hashlib.sha256(leaf).hexdigest() if leaf else None
