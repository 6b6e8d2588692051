"""Table of the configuration keys stations reported (1.6 GetConfiguration), on the shared metadata.

One row per (station, key): the current knowledge, not a history. Secret values (AuthorizationKey)
are never written here; see :mod:`csms.domain.configuration`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, PrimaryKeyConstraint, String, Table, Text

from csms.storage.tables import _station_id, metadata
from csms.storage.types import UtcDateTime

__all__ = ["station_configuration"]

station_configuration = Table(
    "station_configuration",
    metadata,
    _station_id(),
    Column("key", String(255), nullable=False),  # 1.6 CiString50Type; 2.x keys are longer
    Column("value", Text),  # 1.6 CiString500Type; None: unknown key or no value reported
    Column("readonly", Boolean),  # None: never read (only set through ChangeConfiguration)
    Column("unknown", Boolean, nullable=False),  # reported in unknownKey
    Column("read_at", UtcDateTime),  # last GetConfiguration that reported it
    Column("changed_at", UtcDateTime),  # last ChangeConfiguration the station accepted
    PrimaryKeyConstraint("station_id", "key"),
)
