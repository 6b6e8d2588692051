"""Date-times on the wire: RFC 3339 in UTC (1.6 §7 dateTime; 2.0.1 Part 2 §2.1.1 dateTime)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_datetime(value: datetime) -> str:
    """Format as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, the form every station parses."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime:
    """Parse an RFC 3339 date-time; one without an offset is taken as UTC.

    Strict stations always send an offset (the schema's ``format: date-time``); a naive value only
    reaches here from a station in lenient mode, and UTC is the only sensible reading of it.

    Raises:
        ValueError: ``text`` is not a date-time.
    """
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
