"""UtcDateTime stores UTC and refuses naive datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from csms.domain.errors import StorageError
from csms.storage import Store
from csms.storage.types import UtcDateTime
from tests.unit.storage.builders import a_status

LOCAL = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))


def test_sqlite_stores_naive_utc() -> None:
    stored = UtcDateTime().process_bind_param(LOCAL, sqlite.dialect())
    assert stored == datetime(2025, 3, 1, 12, 0)


def test_postgresql_stores_aware_utc() -> None:
    stored = UtcDateTime().process_bind_param(
        LOCAL, make_url("postgresql+asyncpg://").get_dialect()()
    )
    assert stored == LOCAL and stored is not None and stored.tzinfo is UTC


def test_results_are_aware_utc() -> None:
    loaded = UtcDateTime().process_result_value(datetime(2025, 3, 1, 12, 0), sqlite.dialect())
    assert loaded == LOCAL and loaded is not None and loaded.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2025, 3, 1), sqlite.dialect())


async def test_a_naive_timestamp_fails_only_its_own_write(store: Store) -> None:
    with pytest.raises(StorageError):
        await store.stations.record_status(a_status(timestamp=datetime(2025, 3, 1)))
    await store.stations.record_status(a_status())
