"""Reading a stack file into text: size limit, encoding, and a clear message for each failure."""

from __future__ import annotations

import codecs
from pathlib import Path

from mtlsform.diagnostics import Diagnostic, Position, error

# A stack of 10,000 targets is well under 1 MiB; 4 MiB leaves room and refuses accidents
# (a log file, a binary) before any parsing.
MAX_BYTES = 4 * 1024 * 1024

_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_source(path: Path) -> tuple[str | None, list[Diagnostic]]:
    """The file's text (UTF-8, BOM removed), or None and one diagnostic saying why not."""
    file = str(path)
    start = Position(file, 1, 1)
    try:
        if path.is_dir():
            return None, [error(f"cannot read {file}: it is a directory, not a stack file")]
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, [error(f"cannot read {file}: no such file",
                            hint="check the path; stack files usually live in stacks/")]
    except PermissionError:
        return None, [error(f"cannot read {file}: permission denied")]
    except OSError as exc:
        return None, [error(f"cannot read {file}: {exc.strerror or exc}")]
    except ValueError as exc:  # e.g. a NUL character in the path
        return None, [error(f"cannot read {file}: {exc}")]

    if len(data) > MAX_BYTES:
        return None, [error(
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB, too large for a stack file",
            position=start, hint="is this the right file? split very large stacks in several",
        )]
    for bom, name in _UTF16_32_BOMS:
        if data.startswith(bom):
            return None, [error(f"the file is encoded as {name}; stack files must be UTF-8",
                                position=start, hint="save the file as UTF-8")]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_decode_error(file, data, exc)]
    if not text.strip():
        return None, [error("the stack file is empty", position=start,
                            hint="a stack starts with `version: 1` and `stack: NAME`")]
    return text, []


def _decode_error(file: str, data: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    before = data[: exc.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    byte = data[exc.start]
    return error(
        f"the file is not valid UTF-8: byte 0x{byte:02x} cannot be decoded",
        position=Position(file, line, column),
        hint="save the file as UTF-8",
    )
