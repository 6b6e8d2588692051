"""Integers in paths and queries beyond 64 bits are refused with 422, not a 500 from the database
driver (found by schemathesis: SQLite raises OverflowError on binding such an int)."""

from __future__ import annotations

import pytest

from tests.integration.harness import RunningCsms

HUGE = str(2**70)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"/api/v1/file-requests/{HUGE}"),
        ("GET", f"/api/v1/uploads/{HUGE}/content"),
        ("DELETE", f"/api/v1/uploads/{HUGE}"),
        ("GET", f"/api/v1/stations?offset={HUGE}"),
        ("GET", f"/api/v1/stations/CS1/events?before={HUGE}"),
        ("GET", f"/api/v1/stations/CS1/notifications?before={HUGE}"),
        ("GET", f"/api/v1/stations/CS1/notifications?request_id={HUGE}"),
        ("GET", f"/api/v1/stations/CS1/notifications?request_id=-{HUGE}"),
    ],
)
async def test_integers_beyond_64_bits_are_422(server: RunningCsms, method: str, url: str) -> None:
    await server.add_station("CS1")
    async with server.api() as api:
        response = await api.request(method, url)
    assert response.status_code == 422, response.text
