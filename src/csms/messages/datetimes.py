"""The one reader of date-times sent by stations (1.6 §7 dateTime; 2.0.1 Part 2 §2.1.1 dateTime).

The schemas declare ``"format": "date-time"``: an RFC 3339 §5.6 date-time. Python's
``datetime.fromisoformat`` refuses some of those and cannot hold others, so every station-supplied
time goes through :func:`parse_datetime`, which decides once for the whole of csms:

* ``T`` and ``Z`` may be lower case (RFC 3339 §5.6 NOTE);
* a leap second ``:60`` (RFC 3339 §5.7) is read as ``:59.999999`` of the same minute: it stays
  after every earlier instant and before the next minute, and never collides with the real second
  that follows it;
* the instant, converted to UTC, must lie in years 1 to 9999 (what csms stores); one outside,
  such as ``9999-12-31T23:59:59-01:00``, raises :class:`DateTimeOutOfRange`, which the validation
  step answers with PropertyConstraintViolation before any handler runs;
* a date-time without offset (only accepted from lenient stations, 1.6 §3.15) is read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# A leap second: "...:60" followed by an optional fraction and the offset (or nothing).
_LEAP_SECOND = re.compile(r"(\d{2}:\d{2}):60(?:\.\d+)?(?=[zZ+-]|\Z)")
_LAST_MICROSECOND = r"\1:59.999999"


class DateTimeOutOfRange(ValueError):
    """A well-formed date-time whose instant csms cannot represent (outside years 1-9999 UTC)."""


def parse_datetime(text: str) -> datetime:
    """Read a station's date-time as an aware UTC datetime (see the module's rules).

    Raises:
        DateTimeOutOfRange: well formed, but its UTC instant is before year 1 or after year 9999.
        ValueError: not a date-time at all.
    """
    if not isinstance(text, str):
        raise ValueError("a date-time must be a string")
    normalised = text.upper()
    if ":60" in normalised:
        normalised = _LEAP_SECOND.sub(_LAST_MICROSECOND, normalised, count=1)
    value = datetime.fromisoformat(normalised)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DateTimeOutOfRange(f"{text!r} is outside years 1-9999 in UTC") from None
