"""Fixtures of the cluster tests (issue 11): one real nats-server and one migrated PostgreSQL
database per test module, shared by the module's tests (each test's stations and node ids differ).
``tests/conftest.py`` registers this module as a pytest plugin."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.nats import NatsServer, running_nats
from tests.postgres import PostgresServer

__all__ = ["database", "nats"]


@pytest.fixture(scope="module")
def nats() -> Iterator[NatsServer]:
    """One nats-server for the module: each test's nodes have ids of their own."""
    with running_nats() as server:
        yield server


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> Iterator[str]:
    """One database for the module (migrated once): each test's stations have ids of their own."""
    name = asyncio.run(postgres_server.create_database())
    yield postgres_server.url(name)
    asyncio.run(postgres_server.drop_database(name))
