"""The TLS directives of a customized configuration's text, as the data plane applies them.

The API checked the text when it was set (clb_customized.py); here it is only read: each
`name value;` statement, and of those `ssl_protocols` (versions) and `ssl_ciphers` (an OpenSSL
cipher list) become a TlsPolicy's `protocols` and `ciphers`.
"""

from __future__ import annotations

from typing import Any


def tls_settings(content: str | None) -> dict[str, Any]:
    """`protocols` and `ciphers` keyword values for a TlsPolicy (empty: CLB's default)."""
    settings: dict[str, Any] = {}
    for statement in (content or "").split(";"):
        parts = statement.split(None, 1)
        if len(parts) != 2:
            continue
        name, value = parts[0], parts[1].strip().strip("\"'")
        if name == "ssl_protocols" and value.split():
            settings["protocols"] = tuple(value.split())
        elif name == "ssl_ciphers" and value:
            settings["ciphers"] = value
    return settings
