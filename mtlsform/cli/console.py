"""The two consoles the CLI writes to (stdout for results, stderr for messages), colour settings.

Everything printed may hold text from outside (API messages, names read from the cloud, file
contents), so the consoles show control characters escaped: an answer cannot clear the screen,
set the terminal's title, rewrite a line or reorder what a reviewer reads with bidirectional
controls. Newlines and tabs are kept.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rich.console import Console

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional formatting characters.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069]")


def safe_text(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\u202e`)."""
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return _UNSAFE.sub(escape, text)


class SafeConsole(Console):
    """A rich Console that escapes control characters in the strings it prints."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(safe_text(o) if isinstance(o, str) else o for o in objects), **kwargs)

NO_COLOR_ENV = "NO_COLOR"  # https://no-color.org: set and not empty means no colour

_settings = {"no_color": False}
_consoles: dict[str, Console] = {}


def configure(*, no_color: bool) -> None:
    """Colour off when asked (--no-color) or when the environment says NO_COLOR."""
    _settings["no_color"] = no_color or _no_color_env()
    _consoles.clear()


def _no_color_env() -> bool:
    return bool(os.environ.get(NO_COLOR_ENV))


def _make(stderr: bool) -> Console:
    # Colour only on a terminal (rich decides), never with --no-color or NO_COLOR.
    no_color = _settings["no_color"] or _no_color_env()
    return SafeConsole(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True,
                       color_system=None if no_color else "auto")


def out() -> Console:
    """Console for a command's result (stdout)."""
    if "out" not in _consoles:
        _consoles["out"] = _make(stderr=False)
    return _consoles["out"]


def err() -> Console:
    """Console for errors, warnings and progress (stderr)."""
    if "err" not in _consoles:
        _consoles["err"] = _make(stderr=True)
    return _consoles["err"]


def color_enabled() -> bool:
    """Whether results are coloured (a terminal, and colour not turned off)."""
    return out().color_system is not None
