"""UtcDateTime stores UTC and refuses naive datetimes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from csms.domain.errors import StorageError
from csms.storage import Store
from csms.storage.types import (
    UtcDateTime,
    postgresql_timestamp,
    sqlite_read_timestamp,
    sqlite_timestamp,
)
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


def _old_sqlite_text(value: datetime) -> str:
    """What UtcDateTime stored on SQLite before the hot statements existed."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        datetime(2025, 3, 1, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-1))),
        datetime(2024, 2, 29, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        datetime(999, 1, 2, 3, 4, 5, 60, tzinfo=UTC),  # a 3-digit year is zero-padded
        datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        LOCAL,
        datetime(2025, 10, 26, 1, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2025, 3, 30, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    ],
)
def test_sqlite_text_is_the_text_utc_datetime_stored(value: datetime) -> None:
    assert sqlite_timestamp(value) == _old_sqlite_text(value)
    processor = UtcDateTime().bind_processor(sqlite.dialect())
    assert processor is not None and processor(value) == _old_sqlite_text(value)
    assert sqlite_read_timestamp(sqlite_timestamp(value)) == value


def test_sqlite_text_sorts_like_time() -> None:
    times = [datetime(2025, 3, 1, tzinfo=UTC) + timedelta(microseconds=7**i) for i in range(20)]
    texts = [
        sqlite_timestamp(t.astimezone(timezone(timedelta(hours=i % 5))))
        for i, t in enumerate(times)
    ]
    assert sorted(texts) == texts


def test_postgresql_values_stay_aware_datetimes() -> None:
    assert postgresql_timestamp(LOCAL) is LOCAL


@pytest.mark.parametrize("convert", [sqlite_timestamp, postgresql_timestamp])
def test_the_fast_conversions_refuse_naive_datetimes(convert: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="naive"):
        convert(datetime(2025, 3, 1))
