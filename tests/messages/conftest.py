"""Fixtures for the message tests: the engine tests' copy of stacks/ and the in-process CLI."""

from __future__ import annotations

from tests.engine.conftest import cli, workdir

__all__ = ["cli", "workdir"]
