"""Query parameter types that every backend can bind: text without NUL (PostgreSQL refuses it in
a text parameter) and aware instants that stay within the years 1..9999 once in UTC. What fails
here is a 422 validation problem, not a database error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

__all__ = ["QueryInstant", "QueryText", "plain_text", "utc_instant"]


def plain_text(value: str) -> str:
    """Refuse NUL, which no stored text holds and PostgreSQL cannot bind."""
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    return value


def utc_instant(value: datetime) -> datetime:
    """The instant in UTC; refused when that leaves the years 1..9999."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once in UTC") from None


QueryText = Annotated[str, AfterValidator(plain_text)]
QueryInstant = Annotated[AwareDatetime, AfterValidator(utc_instant)]
