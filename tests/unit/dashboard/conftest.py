"""The API unit tests' fakes and client factories, for the dashboard mounted on the same app."""

from tests.unit.api.conftest import (  # noqa: F401 - pytest fixtures
    client,
    gateway,
    make_app,
    make_client,
    problem,
    repo,
)
