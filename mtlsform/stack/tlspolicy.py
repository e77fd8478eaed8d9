"""TLS policies: the versions and ciphers a listener or domain accepts, as the stack names them
(a preset, or `min_version` and `ciphers`), and their nginx text for a CLB customized
configuration (`ssl_protocols`, `ssl_ciphers`).

The cipher names are OpenSSL's (what nginx passes to OpenSSL); only TLS 1.2-and-older ciphers
are chosen this way: TLS 1.3's suites are fixed by the TLS 1.3 standard and always offered
when TLS 1.3 is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mtlsform.stack.model import Positions

VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# Mozilla's intermediate list: ECDHE key exchange, AEAD ciphers only.
INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
)
PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "modern": ("TLSv1.3", ()),
    "intermediate": ("TLSv1.2", INTERMEDIATE_CIPHERS),
}
# The OpenSSL names of TLS 1.2-and-older ciphers a policy may list.
KNOWN_CIPHERS = frozenset({
    *INTERMEDIATE_CIPHERS,
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "DHE-RSA-AES128-SHA256",
    "DHE-RSA-AES256-SHA256", "DHE-RSA-AES128-SHA", "DHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES256-SHA256",
    "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA", "ECDHE-RSA-DES-CBC3-SHA",
})


@dataclass(frozen=True)
class TlsPolicy:
    """A TLS policy: a preset's name, or the oldest version and the ciphers accepted."""

    preset: str | None = None
    min_version: str = "TLSv1.2"
    ciphers: tuple[str, ...] = ()
    positions: Positions = field(default_factory=Positions)

    @property
    def protocols(self) -> tuple[str, ...]:
        """Every version from the oldest accepted on (nginx `ssl_protocols`)."""
        oldest = PRESETS[self.preset][0] if self.preset else self.min_version
        return VERSIONS[VERSIONS.index(oldest):]

    @property
    def cipher_list(self) -> tuple[str, ...]:
        return PRESETS[self.preset][1] if self.preset else self.ciphers

    def content(self) -> str:
        """The customized configuration's text (ConfigContent)."""
        lines = [f"ssl_protocols {' '.join(self.protocols)};"]
        if self.cipher_list:
            lines.append(f"ssl_ciphers {':'.join(self.cipher_list)};")
        return "\n".join(lines)


def read_content(content: str) -> tuple[list[str], list[str]]:
    """The versions (`ssl_protocols`) and ciphers (`ssl_ciphers`) a configuration's text
    names, as a plan shows them (empty when the text does not name them)."""
    protocols: list[str] = []
    ciphers: list[str] = []
    for statement in content.split(";"):
        parts = statement.split(None, 1)
        if len(parts) != 2:
            continue
        value = parts[1].strip().strip("\"'")
        if parts[0] == "ssl_protocols":
            protocols = value.split()
        elif parts[0] == "ssl_ciphers":
            ciphers = [name for name in value.split(":") if name]
    return protocols, ciphers
