"""Fixtures for CLI tests: the engine tests' scratch copy of stacks/ and the in-process CLI."""

from __future__ import annotations

from tests.engine.conftest import Result, cli, workdir

__all__ = ["Result", "cli", "workdir"]
