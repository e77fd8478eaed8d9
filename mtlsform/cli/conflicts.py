"""Flags that contradict each other, refused with one message before anything runs.

A command checks its flags here first; nothing is read or locked when two of them disagree.
"""

from __future__ import annotations

from mtlsform.errors import InputError

FORMATS = ("text", "json", "markdown")


def output_format(chosen: str | None, *, json_output: bool,
                  formats: tuple[str, ...] = FORMATS) -> str:
    """The output of `--format` (one of `formats`) and `--json` (an alias of `--format
    json`); both at once must agree."""
    if chosen is not None and chosen.lower() not in formats:
        words = f"{', '.join(formats[:-1])} or {formats[-1]}"
        raise InputError(f"--format {chosen!r} is not {words}")
    if json_output and chosen is not None and chosen.lower() != "json":
        raise InputError(f"--json and --format {chosen} ask for different outputs",
                         hint="give one of them (--json is --format json)")
    return "json" if json_output else (chosen or "text").lower()


def refuse_together(first: tuple[str, bool], second: tuple[str, bool], *, why: str) -> None:
    """InputError when both flags are given: `why` says what each means."""
    if first[1] and second[1]:
        raise InputError(f"{first[0]} and {second[0]} cannot be given together", hint=why)


def refuse_without(flag: tuple[str, bool], needed: tuple[str, bool], *, why: str) -> None:
    """InputError when `flag` is given without the flag it works with."""
    if flag[1] and not needed[1]:
        raise InputError(f"{flag[0]} needs {needed[0]}", hint=why)
