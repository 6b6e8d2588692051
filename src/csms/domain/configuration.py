"""Stored station configuration (1.6 GetConfiguration keys) and the secrets that are never stored.

1.6 ``AuthorizationKey`` is write-only: a station must not report it (1.6-J errata 3.10), and if one
does anyway, csms keeps only :data:`~csms.domain.commands.MASKED` in its place, everywhere: in the
database, in logs and in what operators are shown. 2.x ``SecurityCtrlr.BasicAuthPassword`` is the
same secret (2.0.1 Part 2 Appendices, SecurityCtrlr) and is masked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from csms.domain.commands import MASKED, ConfigurationKey

__all__ = ["SECRET_KEYS", "ConfigurationRepository", "is_secret", "masked"]

# Compared case-insensitively: 1.6 keys are case-insensitive in practice (§9 gives CamelCase names,
# some stations report them in other cases).
SECRET_KEYS = frozenset({"authorizationkey", "basicauthpassword"})


def is_secret(key: str) -> bool:
    """True for a configuration key / variable whose value must never be stored or shown."""
    return key.lower() in SECRET_KEYS


def masked(key: str, value: str | None) -> str | None:
    """Return ``value``, or :data:`MASKED` in its place when ``key`` is a secret."""
    if value is not None and is_secret(key):
        return MASKED
    return value


class ConfigurationRepository(Protocol):
    """The configuration keys each station reported (committed on return)."""

    async def record_read(
        self,
        station_id: str,
        keys: Iterable[ConfigurationKey],
        unknown_keys: Iterable[str],
        now: datetime,
    ) -> None:
        """Store what a GetConfiguration reported: values, readonly flags, unknown keys.

        The values must already be masked (see :func:`masked`).
        """
        ...

    async def record_change(self, station_id: str, key: str, value: str, now: datetime) -> None:
        """Store a value a station accepted through ChangeConfiguration (already masked)."""
        ...

    async def keys(self, station_id: str) -> Sequence[ConfigurationKey]:
        """Return every stored key of the station, ordered by key."""
        ...
