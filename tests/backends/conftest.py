from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.backends.postgres import Postgres, start_postgres

_schemas = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the whole run."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_schema() -> str:
    """A schema of its own for each test (the backend creates it on first use)."""
    return f"t{next(_schemas)}"


# The engine tests' scratch copy of stacks/ and in-process CLI.
from tests.engine.conftest import cli, workdir  # noqa: E402, F401
