"""Session persistence: signed cookies that pin a client to a target for a rule's expire time.

A rule with SessionExpireTime > 0 sets a cookie (the rule's CookieName, else
`mtlsform_session`) on each response naming the target that served it and when the pin ends;
a later request carrying a valid, unexpired cookie for the same rule goes to that target while
it is bound, has weight > 0 and is not Dead. Each response refreshes the expiry (a sliding
window, like an idle timeout). The value is `<target>.<expiry>.<mac>`, HMAC-SHA256 with a key
that lives as long as the data plane, so it cannot be forged or moved to another rule; it is
stateless, so nothing grows with the number of clients. Pure functions of their inputs (the
clock is a parameter).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

DEFAULT_COOKIE_NAME = "mtlsform_session"


class SessionCookies:
    """Issues and reads sticky-session cookie values."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _mac(self, route_key: str, target: str, expiry: int) -> str:
        message = f"{route_key}\0{target}\0{expiry}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def issue(self, route_key: str, target_key: tuple[str, int], lifetime: int,
              now: float) -> str:
        """The cookie value pinning `route_key` (listener/location) to a target until now+life."""
        target = f"{target_key[0]}:{target_key[1]}"
        expiry = int(now) + lifetime
        encoded = base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
        return f"{encoded}.{expiry}.{self._mac(route_key, target, expiry)}"

    def read(self, route_key: str, value: str, now: float) -> tuple[str, int] | None:
        """The pinned target key, or None if the value is malformed, forged or expired."""
        try:
            encoded, expiry_text, mac = value.split(".")
            padded = encoded + "=" * (-len(encoded) % 4)
            target = base64.urlsafe_b64decode(padded.encode()).decode()
            expiry = int(expiry_text)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac, self._mac(route_key, target, expiry)):
            return None
        if expiry <= now:
            return None
        target_id, _, port = target.rpartition(":")
        try:
            return (target_id, int(port))
        except ValueError:
            return None


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a Cookie header (the first one if repeated)."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def set_cookie_header(name: str, value: str, lifetime: int, *, secure: bool = True) -> str:
    """The Set-Cookie value for a sticky session (`Secure` on HTTPS listeners)."""
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Max-Age={lifetime}; Path=/{flags}; HttpOnly; SameSite=Lax"
