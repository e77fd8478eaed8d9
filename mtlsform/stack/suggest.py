""""Did you mean ...?": the closest known word to a misspelt key, name or value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`, when one is close enough to be a likely typo."""
    options = sorted(set(candidates))
    if not options:
        return None
    lowered = {option.lower(): option for option in options}
    if word.lower() in lowered:  # only the case differs
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint `did you mean 'x'?`, or None when nothing is close."""
    match = closest(word, candidates)
    return f"did you mean {match!r}?" if match is not None else None


def one_of(candidates: Iterable[str], limit: int = 12) -> str:
    """A short list for a hint: `a, b, c` (or `a, b, ... (20 in all)`)."""
    options = sorted(set(candidates))
    if len(options) <= limit:
        return ", ".join(options)
    return ", ".join(options[:limit]) + f", ... ({len(options)} in all)"
