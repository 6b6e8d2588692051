"""Date-times on the wire: RFC 3339 in UTC (1.6 §7 dateTime; 2.0.1 Part 2 §2.1.1 dateTime).

Reading is done by the one parser of :mod:`csms.messages.datetimes`, which the validation step
already applied to every date-time field, so a handler only meets a time it cannot read when a
lenient station sent something that is no date-time at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from csms.messages.datetimes import parse_datetime

__all__ = ["format_datetime", "parse_datetime", "station_time"]


def format_datetime(value: datetime) -> str:
    """Format as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, the form every station parses."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def station_time(text: object, received: datetime) -> datetime:
    """A station's date-time, or ``received`` (when the message arrived) if it cannot be read.

    Only a lenient station's message gets here with an unreadable time; refusing it would make the
    station retry it forever (ocpp-rules §3: never a CALLERROR for a message that can be stored).
    """
    if not isinstance(text, str):
        return received
    try:
        return parse_datetime(text)
    except ValueError:
        return received
