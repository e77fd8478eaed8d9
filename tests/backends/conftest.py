from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.backends.postgres import Postgres, start_postgres
from tests.backends.s3server import S3Server, start_s3_server

_schemas = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the whole run."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One S3-compatible server (moto's) for the whole run; each test makes its buckets."""
    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture
def pg_schema() -> str:
    """A schema of its own for each test (the backend creates it on first use)."""
    return f"t{next(_schemas)}"


# The engine tests' scratch copy of stacks/ and in-process CLI.
from tests.engine.conftest import cli, workdir  # noqa: E402, F401
