"""Fixtures shared by every test directory."""

# The session-scoped ``postgres_server`` fixture (a throwaway PostgreSQL) for tests marked postgres.
pytest_plugins = ["tests.postgres", "tests.nats"]
