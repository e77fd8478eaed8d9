"""The two consoles the CLI writes to (stdout for results, stderr for messages), colour settings."""

from __future__ import annotations

import os

from rich.console import Console

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
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True,
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
