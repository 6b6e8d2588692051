"""Column types shared by the tables, and the timestamp conversions behind them.

The conversions are plain functions because the hot statements (:mod:`csms.storage.statements`)
call them directly, bypassing SQLAlchemy's per-row bind processing; :class:`UtcDateTime` uses the
same functions, so both paths store the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "StationInteger",
    "UtcDateTime",
    "postgresql_timestamp",
    "sqlite_read_timestamp",
    "sqlite_timestamp",
    "utc_read_timestamp",
]

# An integer a station sends (connectorId, evseId, ...): the schemas allow any JSON integer and the
# validation step admits the signed 64-bit range (csms.messages.limits), so the column holds that
# much: BIGINT on PostgreSQL (migration station_integer_columns); SQLite's INTEGER already has 64 bits.
StationInteger = BigInteger().with_variant(Integer(), "sqlite")

# SQLAlchemy's SQLite DATETIME text ("2025-03-01 12:00:00.000000"): fixed width, so text order is
# time order, which keeps ``<``/``>`` comparisons in SQL correct.
_SQLITE_FORMAT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused; use an aware one")
    return value.astimezone(UTC)


def sqlite_timestamp(value: datetime) -> str:
    """Return the SQLite text of an aware ``value`` (naive UTC, microseconds); refuse naive ones.

    Raises:
        ValueError: ``value`` is naive (its zone is unknown).
    """
    if value.tzinfo is not UTC:  # the common case (parsed "...Z", datetime.now(UTC)) skips this
        value = _to_utc(value)
    return _SQLITE_FORMAT % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def postgresql_timestamp(value: datetime) -> datetime:
    """Return an aware ``value`` as is (``timestamptz`` stores the instant); refuse naive ones.

    Raises:
        ValueError: ``value`` is naive (its zone is unknown).
    """
    if value.tzinfo is not UTC and value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused; use an aware one")
    return value


def sqlite_read_timestamp(value: str | None) -> datetime | None:
    """Return the aware UTC datetime of SQLite timestamp text (None stays None)."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def utc_read_timestamp(value: datetime | None) -> datetime | None:
    """Return a driver's ``timestamptz`` value as aware UTC (None stays None)."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _sqlite_bind(value: datetime | None) -> str | None:
    return None if value is None else sqlite_timestamp(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no timezone support, so the value is stored as
    naive UTC in SQLAlchemy's fixed-width ISO format (which keeps ``<``/``>`` comparisons correct)
    and read back as aware UTC; the SQLite conversions are done directly, as they run for every
    timestamp of every meter value. Naive datetimes are refused: their zone is unknown, and
    guessing would silently shift OCPP timestamps.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return utc_read_timestamp(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_bind
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return sqlite_read_timestamp
        return super().result_processor(dialect, coltype)
