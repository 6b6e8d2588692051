"""Fixtures shared by every test directory."""

from collections.abc import Iterator

import pytest

from tests.templates import remove_sqlite_template

# The session-scoped ``postgres_server`` fixture (a throwaway PostgreSQL) for tests marked postgres;
# nats-server, and the cluster tests' module-scoped ``nats`` and ``database`` (tests/cluster.py).
pytest_plugins = ["tests.postgres", "tests.nats", "tests.cluster"]


@pytest.fixture(scope="session", autouse=True)
def _sqlite_template_removed() -> Iterator[None]:
    """Delete the SQLite database migrated once for this process (tests/templates.py)."""
    yield
    remove_sqlite_template()
