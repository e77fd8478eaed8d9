"""Encryption of sensitive state values at rest with MTLSFORM_STATE_PASSPHRASE.

The key comes from the passphrase through scrypt with a random salt kept in the file's
`encryption` header, together with a key check value: a hash of a second, independent half of
the scrypt output, so a wrong passphrase is named as such before any value is touched. Each
value is sealed with AES-256-GCM under a fresh random nonce, and the associated data binds it to
where it lives (resource address + attribute path, or output name), so ciphertexts cannot be
swapped between places unnoticed.

Values read without the passphrase become `SealedValue`s: they keep their ciphertext (written
back unchanged) and refuse `reveal()`. Values read with it become `OpenedValue`s, which remember
their ciphertext so an unchanged secret is written back byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive

PASSPHRASE_ENV = "MTLSFORM_STATE_PASSPHRASE"
METHOD = "aes-256-gcm"
KDF = "scrypt"
# scrypt cost: 32 MiB and well under a second, paid once per run.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAX_SCRYPT_N = 2**20  # a file asking for more is refused rather than exhausting memory
_SALT_BYTES, _NONCE_BYTES = 16, 12
_CHECK_LABEL = b"mtlsform state key check v1\0"
_AAD_PREFIX = "mtlsform-state-value-v1\0"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, source: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise StateError(f"state file {source}: {what} is not base64") from None


def resource_aad(address: str, path: tuple[str | int, ...]) -> str:
    return f"{_AAD_PREFIX}resource\0{address}\0{json.dumps(list(path))}"


def output_aad(name: str) -> str:
    return f"{_AAD_PREFIX}output\0{name}"


def describe_aad(aad: str) -> str:
    """The place an associated-data string names, for messages (`certificate.ca private_key`)."""
    parts = aad.removeprefix(_AAD_PREFIX).split("\0")
    if parts[0] == "resource" and len(parts) == 3:
        path = ".".join(str(p) for p in json.loads(parts[2]))
        return f"{parts[1]} {path}"
    return f"output {parts[-1]}"


@dataclass(frozen=True)
class Envelope:
    """One encrypted value as stored: base64 nonce and ciphertext (with its GCM tag)."""

    nonce: str
    ciphertext: str

    def to_json(self) -> dict[str, str]:
        return {"ciphertext": self.ciphertext, "nonce": self.nonce}

    @classmethod
    def from_json(cls, value: Any, where: str, source: str) -> Envelope:
        if (not isinstance(value, dict) or set(value) != {"ciphertext", "nonce"}
                or not all(isinstance(v, str) for v in value.values())):
            raise StateError(f"state file {source}: {where}: expected an encrypted value "
                             '{"ciphertext": ..., "nonce": ...} because the file is encrypted')
        _unb64(value["nonce"], f"{where}.nonce", source)
        _unb64(value["ciphertext"], f"{where}.ciphertext", source)
        return cls(value["nonce"], value["ciphertext"])


class SealedValue(Sensitive[Any]):
    """A secret read without the passphrase: its ciphertext, never its value."""

    __slots__ = ("aad", "envelope", "key_id")

    def __init__(self, envelope: Envelope, aad: str, key_id: str) -> None:
        super().__init__(("sealed", key_id, aad, envelope))
        self.envelope, self.aad, self.key_id = envelope, aad, key_id

    def reveal(self) -> Any:
        raise StateError(
            f"the state holds private keys encrypted with {PASSPHRASE_ENV} "
            f"({describe_aad(self.aad)}); set it to the passphrase they were written with",
            hint=f"export {PASSPHRASE_ENV}=... (plan and show work without it; "
                 "anything that needs the key itself does not)")


class OpenedValue(Sensitive[Any]):
    """A decrypted secret that remembers the ciphertext it was read from."""

    __slots__ = ("aad", "envelope", "key_id")

    def __init__(self, value: Any, envelope: Envelope, aad: str, key_id: str) -> None:
        super().__init__(value)
        self.envelope, self.aad, self.key_id = envelope, aad, key_id


@dataclass(frozen=True)
class EncryptionHeader:
    """The file's `encryption` object: how to derive the key and check it."""

    salt: str
    n: int
    r: int
    p: int
    key_check: str

    @property
    def key_id(self) -> str:
        return self.key_check

    def to_json(self) -> dict[str, Any]:
        return {"kdf": {"n": self.n, "name": KDF, "p": self.p, "r": self.r, "salt": self.salt},
                "key_check": self.key_check, "method": METHOD}

    @classmethod
    def from_json(cls, value: Any, source: str) -> EncryptionHeader:
        where = f"state file {source}: encryption"
        if not isinstance(value, dict) or value.get("method") != METHOD:
            found = value.get("method") if isinstance(value, dict) else value
            raise StateError(f"{where}: expected method {METHOD!r} (found {found!r})")
        kdf = value.get("kdf")
        if not isinstance(kdf, dict) or kdf.get("name") != KDF:
            raise StateError(f"{where}.kdf: expected name {KDF!r}")
        params = [kdf.get(k) for k in ("n", "r", "p")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in params):
            raise StateError(f"{where}.kdf: n, r and p must be positive integers")
        n, r, p = (int(v) for v in params if v is not None)
        if n > _MAX_SCRYPT_N or n & (n - 1) or r * p > 64:
            raise StateError(f"{where}.kdf: scrypt parameters out of range (n={n}, r={r}, p={p})")
        _unb64(kdf.get("salt"), "encryption.kdf.salt", source)
        _unb64(value.get("key_check"), "encryption.key_check", source)
        return cls(kdf["salt"], n, r, p, value["key_check"])


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, str]:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    material = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    check = hashlib.sha256(_CHECK_LABEL + material[32:]).digest()[:16]
    return material[:32], _b64(check)


def _passphrase_text(passphrase: Sensitive[str]) -> str:
    text = passphrase.reveal()
    if not isinstance(text, str) or not text:
        raise StateError(f"{PASSPHRASE_ENV} is set but empty",
                         hint="set it to a long passphrase, or unset it")
    return text


class Cipher:
    """Seals and opens values under the key derived from the passphrase."""

    def __init__(self, key: bytes, header: EncryptionHeader) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)
        self.header = header

    @classmethod
    def create(cls, passphrase: Sensitive[str]) -> Cipher:
        """A cipher with a fresh salt, for a file that is not encrypted yet."""
        salt = os.urandom(_SALT_BYTES)
        key, check = _derive(_passphrase_text(passphrase), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return cls(key, EncryptionHeader(_b64(salt), SCRYPT_N, SCRYPT_R, SCRYPT_P, check))

    @classmethod
    def open(cls, header: EncryptionHeader, passphrase: Sensitive[str], source: str) -> Cipher:
        """The cipher of an encrypted file; a wrong passphrase is refused here."""
        key, check = _derive(_passphrase_text(passphrase), base64.b64decode(header.salt),
                             header.n, header.r, header.p)
        if not hmac.compare_digest(check, header.key_check):
            raise StateError(
                f"wrong {PASSPHRASE_ENV}: it does not open the encrypted values of state file "
                f"{source}", hint="use the passphrase the state was written with")
        return cls(key, header)

    @property
    def key_id(self) -> str:
        return self.header.key_id

    def seal(self, value: Any, aad: str) -> Envelope:
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ciphertext = self._aead.encrypt(nonce, plaintext, aad.encode("utf-8"))
        return Envelope(_b64(nonce), _b64(ciphertext))

    def open_value(self, envelope: Envelope, aad: str, source: str) -> OpenedValue:
        from cryptography.exceptions import InvalidTag

        try:
            plaintext = self._aead.decrypt(base64.b64decode(envelope.nonce),
                                           base64.b64decode(envelope.ciphertext),
                                           aad.encode("utf-8"))
        except InvalidTag:
            raise StateError(
                f"state file {source}: the encrypted value of {describe_aad(aad)} fails its "
                "integrity check: the file was modified or values were moved") from None
        return OpenedValue(json.loads(plaintext), envelope, aad, self.key_id)
