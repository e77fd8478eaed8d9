"""How values and patterns are worded in messages (short, quoted, never a raw regex)."""

from __future__ import annotations

import unicodedata

NAME_RULE = "a name starts with a letter and holds letters, digits, '_' and '-'"

# The schema's patterns, in words. A pattern missing here falls back to showing the regex
# (a test checks that every pattern of the schema is listed).
PATTERNS: dict[str, tuple[str, str | None]] = {
    "^[A-Za-z][A-Za-z0-9_-]{0,62}$": ("is not a valid name", f"{NAME_RULE} (at most 63)"),
    "^[A-Za-z][A-Za-z0-9_-]{0,79}$": ("is not a valid listener name",
                                      f"{NAME_RULE} (at most 80)"),
    "^[a-z]+(-[a-z0-9]+)+$": ("is not a region name", "regions look like ap-guangzhou"),
    "^[0-9]{1,2}(-[0-9]{1,2})?(,[0-9]{1,2}(-[0-9]{1,2})?)*$": (
        "is not a list of gRPC status codes",
        'write codes 0-99 and ranges, separated by commas, e.g. "0", "0,12" or "0-99"'),
    "^(https?://)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\\S*)?$": (
        "is not an endpoint", "write a host, host:port or URL, e.g. http://127.0.0.1:9000"),
    "^[A-Z]{2}$": ("is not a country code", "write two capital letters, e.g. CN"),
    "^[A-Za-z_][A-Za-z0-9_]*$": ("is not an environment variable name",
                                 "letters, digits and '_', not starting with a digit"),
    "^(\\*\\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*"
    "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$": (
        "is not a DNS name",
        "labels of letters, digits and '-' separated by dots; '*.' only at the start"),
    "^lb-[a-z0-9]{8}$": ("is not a CLB id", "CLB ids look like lb-0a1b2c3d"),
    "^vpc-[a-z0-9]{8}$": ("is not a VPC id", "VPC ids look like vpc-0a1b2c3d"),
    "^subnet-[a-z0-9]{8}$": ("is not a subnet id", "subnet ids look like subnet-0a1b2c3d"),
    "^sg-[a-z0-9]{8}$": ("is not a security group id",
                         "security group ids look like sg-0a1b2c3d"),
    "^ins-[a-z0-9]{1,32}$": ("is not a CVM instance id",
                             "instance ids look like ins-0a1b2c3d (lowercase)"),
    "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$": (
        "is not a certificate ID", "SSL certificate IDs look like Ab12Cd34 (the SSL console "
                                   "or DescribeCertificates shows them)"),
    "^[a-z_][a-z0-9_]{0,62}$": ("is not a PostgreSQL schema name",
                                "lowercase letters, digits and '_', not starting with a digit "
                                "(at most 63)"),
    "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": ("is not a bucket name",
                                          "lowercase letters, digits, '-' and '.', 3-63, e.g. "
                                          "tfstate-1250000000"),
    "^[A-Za-z0-9!_.*'()/-]{1,200}$": ("is not a key prefix",
                                     "letters, digits and !_.*'()/- (at most 200)"),
    "^/": ("must start with /", None),
    "^(?!mtlsform:)": ("is reserved: mtlsform sets the tags whose keys start with mtlsform:",
                       "choose a key without the mtlsform: prefix"),
}

# Controls (tab and newline too: no setting holds them), format characters (bidi controls,
# zero-width characters, the byte-order mark, the soft hyphen), surrogates, line and paragraph
# separators: refused in a stack (`invisible.py`) and never shown raw in a message.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_refused(char: str) -> bool:
    return unicodedata.category(char) in REFUSED_CATEGORIES


def escape_char(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_text(text: str) -> str:
    """The text with each refused character written as `\\uXXXX` (`\\UXXXXXXXX` beyond)."""
    return "".join(escape_char(c) if is_refused(c) else c for c in text)


def describe(value: object, limit: int = 60) -> str:
    """A value as shown in a message: `'text'`, `443`, `true`, `null`, `a mapping`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return quote(value, limit)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def quote(text: str, limit: int = 60) -> str:
    """Text in quotes as written (no doubled backslashes); repr only for unprintable text."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if text.isprintable():
        if "'" not in text:
            return f"'{text}'"
        if '"' not in text:
            return f'"{text}"'
    return repr(text)


def as_text(value: object) -> str:
    """A scalar as YAML would write it (for variables placed inside longer text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pattern_problem(pattern: str, value: object) -> tuple[str, str | None]:
    """(message, hint) for a value that does not match one of the schema's patterns."""
    message, hint = PATTERNS.get(pattern, (f"does not match the pattern {pattern}", None))
    return f"{describe(value)} {message}", hint


def first_sentence(text: str) -> str:
    """The first sentence of a schema description, for a hint."""
    return text.partition(". ")[0].rstrip(".")
