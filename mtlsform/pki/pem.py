"""Reading PEM files people bring: tolerant of CRLF, a BOM and stray whitespace, precise otherwise.

Every refusal is a PemProblem whose message names the file as the user wrote it, says what is
wrong and (as the hint) how to fix it. Parsing goes through our own block reader so that each
kind of damage gets its own message instead of cryptography's generic "Unable to load PEM file".
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

_BEGIN = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----$")
_END = re.compile(r"^-----END ([A-Z0-9 ]+)-----$")
_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
               "DSA PRIVATE KEY")
_BOM = b"\xef\xbb\xbf"
_GLUED = re.compile(r"-----(?=-----BEGIN )")


class PemProblem(Exception):
    """A file cannot be read as the PEM we expect; `message` is complete, `hint` says what to do."""

    def __init__(self, message: str, hint: str | None = None, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code  # a stable name of the problem, for callers and tests


@dataclass(frozen=True)
class PemBlock:
    label: str  # e.g. "CERTIFICATE", "EC PRIVATE KEY"
    line: int  # 1-based line of the BEGIN marker
    headers: tuple[str, ...]  # RFC 1421 headers of legacy encrypted keys ("Proc-Type: ...")
    body: str  # the base64 text, whitespace removed

    def der(self, shown: str) -> bytes:
        try:
            return base64.b64decode(self.body, validate=True)
        except (binascii.Error, ValueError):
            raise PemProblem(
                f"{shown}: the {self.label} block at line {self.line} is not valid base64",
                "the text was probably damaged when copied; export the file again",
                code="bad-base64") from None

    def text(self) -> str:
        """The block re-wrapped at 64 columns with its headers (what cryptography parses)."""
        head = "".join(f"{h}\n" for h in self.headers) + ("\n" if self.headers else "")
        body = "\n".join(textwrap.wrap(self.body, 64))
        return f"-----BEGIN {self.label}-----\n{head}{body}\n-----END {self.label}-----\n"

    @property
    def encrypted(self) -> bool:
        return self.label == "ENCRYPTED PRIVATE KEY" or any(
            h.replace(" ", "").upper() == "PROC-TYPE:4,ENCRYPTED" for h in self.headers)


STACK_PATH_HINT = "check the path; relative paths start at the stack file's directory"


# Certificates, chains, keys and PKCS#12 files are kilobytes; anything this big is not one.
MAX_FILE_BYTES = 1024 * 1024


def read_file(path: Path, shown: str, hint: str | None = None) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; a device, a FIFO or a directory
    is refused without reading it (opening does not block on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise PemProblem(f"cannot read {shown}: {exc.strerror or exc}", hint,
                         code="unreadable") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "Is a directory" if stat.S_ISDIR(mode) else "it is not a regular file"
        raise PemProblem(f"cannot read {shown}: {what}", "name a certificate or key file",
                         code="unreadable")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise PemProblem(f"cannot read {shown}: {exc.strerror or exc}", hint,
                             code="unreadable") from None
    if len(data) > MAX_FILE_BYTES:
        raise PemProblem(f"cannot read {shown}: it is larger than {MAX_FILE_BYTES // 1024} KiB, "
                         "which no certificate or key file is", "name a certificate or key file",
                         code="unreadable")
    return data


def _looks_binary(data: bytes) -> bool:
    head = data[:64]
    return any(b < 9 or 13 < b < 32 or b > 126 for b in head)


def pem_blocks(data: bytes, shown: str, *, expected: str) -> list[PemBlock]:
    """All PEM blocks of a file (any label); `expected` ("certificate" / "private key") words
    the messages. Text around blocks (e.g. `openssl x509 -text` output) is ignored."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        raise PemProblem(f"{shown} is empty", f"it should hold a PEM {expected}", code="empty")
    if b"-----BEGIN" not in data:
        if data[:1] == b"\x30" and _looks_binary(data):
            tool = "x509" if expected == "certificate" else "pkey"
            raise PemProblem(
                f"{shown} is DER (binary), but a PEM {expected} is expected",
                f"convert it: openssl {tool} -inform DER -in {shown} -out {shown}.pem",
                code="der")
        raise PemProblem(f"{shown} holds no PEM {expected}",
                         f'expected a "-----BEGIN {_label_for(expected)}-----" block',
                         code="no-pem")
    text = data.decode("utf-8", errors="replace")
    text = _GLUED.sub("-----\n", text)  # "...END CERTIFICATE----------BEGIN ..." on one line
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    if any("-----BEGIN" in line and "\\n" in line for line in lines):
        raise PemProblem(
            f'{shown} contains literal "\\n" sequences instead of line breaks',
            "the PEM was probably pasted from JSON or YAML; write real line breaks instead",
            code="literal-newline")
    return _blocks(lines, shown)


def _blocks(lines: list[str], shown: str) -> list[PemBlock]:
    blocks: list[PemBlock] = []
    i = 0
    while i < len(lines):
        begin = _BEGIN.match(lines[i])
        if not begin:
            i += 1
            continue
        label, start = begin.group(1), i + 1
        headers: list[str] = []
        body: list[str] = []
        i += 1
        while i < len(lines) and not _END.match(lines[i]):
            if ":" in lines[i] and not body:
                headers.append(lines[i])
            elif lines[i]:
                body.append(lines[i])
            i += 1
        end = _END.match(lines[i]) if i < len(lines) else None
        if end is None or end.group(1) != label:
            raise PemProblem(f'{shown}: the "{label}" block at line {start} has no matching '
                             f'"-----END {label}-----" line',
                             "the file was probably cut short; export it again",
                             code="unterminated")
        blocks.append(PemBlock(label, start, tuple(headers), "".join(body)))
        i += 1
    return blocks


def _label_for(expected: str) -> str:
    return "CERTIFICATE" if expected == "certificate" else "PRIVATE KEY"


def _nothing_expected(shown: str, expected: str, blocks: list[PemBlock]) -> PemProblem:
    labels = ", ".join(sorted({b.label for b in blocks}))
    hint = f'expected a "-----BEGIN {_label_for(expected)}-----" block; it holds: {labels}'
    if any(b.label == "CERTIFICATE REQUEST" for b in blocks):
        hint += " (a certificate signing request is not a certificate)"
    return PemProblem(f"{shown} holds no PEM {expected}", hint, code="no-pem")


def load_certificates(path: Path, shown: str) -> list[x509.Certificate]:
    """The certificates of a PEM file in file order (a bundle gives several)."""
    return certificates_from_pem(read_file(path, shown, STACK_PATH_HINT), shown)


def parse_der_certificate(der: bytes) -> x509.Certificate:
    """A DER certificate whose extensions parse too (cryptography parses them lazily)."""
    cert = x509.load_der_x509_certificate(der)
    _ = cert.extensions  # raises ValueError now rather than in every later check
    return cert


def certificates_from_pem(data: bytes, shown: str) -> list[x509.Certificate]:
    """The certificates of PEM text in order; other blocks (keys...) are skipped, never shown."""
    blocks = pem_blocks(data, shown, expected="certificate")
    certs = []
    for block in blocks:
        if block.label != "CERTIFICATE":
            continue
        try:
            certs.append(parse_der_certificate(block.der(shown)))
        except ValueError as exc:
            raise PemProblem(f"{shown}: the certificate at line {block.line} cannot be parsed "
                             f"({str(exc).splitlines()[0]})", code="bad-certificate") from None
    if not certs:
        raise _nothing_expected(shown, "certificate", blocks)
    return certs


def load_private_key(path: Path, shown: str, *, passphrase_env: str | None,
                     environ: Mapping[str, str]) -> Any:
    """The one private key of a PEM file, decrypted with the passphrase from `passphrase_env`."""
    blocks = pem_blocks(read_file(path, shown, STACK_PATH_HINT), shown, expected="private key")
    keys = [b for b in blocks if b.label in _KEY_LABELS]
    if not keys:
        raise _nothing_expected(shown, "private key", blocks)
    if len(keys) > 1:
        raise PemProblem(f"{shown} holds {len(keys)} private keys; expected one",
                         "keep only the key of this certificate in the file", code="many-keys")
    block = keys[0]
    password = None
    if block.encrypted:
        if not passphrase_env:
            raise PemProblem(
                f"{shown} holds an encrypted private key, and no passphrase is configured",
                "set files.passphrase_env to the name of an environment variable holding the "
                f"passphrase, or decrypt the key: openssl pkey -in {shown} -out {shown}.plain",
                code="encrypted-no-passphrase")
        if passphrase_env not in environ:
            raise PemProblem(
                f"{shown} holds an encrypted private key, and environment variable "
                f"{passphrase_env} (files.passphrase_env) is not set",
                f"export {passphrase_env}=... before running mtlsform",
                code="passphrase-unset")
        password = environ[passphrase_env].encode("utf-8")
    try:
        return serialization.load_pem_private_key(block.text().encode("ascii", "replace"),
                                                   password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        if password is not None and isinstance(exc, ValueError):
            raise PemProblem(f"the passphrase in {passphrase_env} does not decrypt {shown}",
                             f"check the value of {passphrase_env}",
                             code="wrong-passphrase") from None
        raise PemProblem(f"{shown}: the private key at line {block.line} cannot be parsed",
                         "the file was probably damaged when copied; export it again",
                         code="bad-key") from None
