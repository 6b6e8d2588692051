"""The charging-profile store (1.6 §3.13, §5.5, §5.16; 2.x K01–K08), on the shared metadata.

One row per SetChargingProfile sent, with the station's answer. ``installed`` is True while the
station holds the profile (accepted, not superseded or cleared since; ``removed_at`` says when it
stopped). The schedule is kept as JSON in a version-neutral form (see
:mod:`csms.storage.chargingprofiles`), the other profile fields as columns for matching.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from csms.storage.tables import metadata
from csms.storage.types import StationInteger, UtcDateTime

__all__ = ["charging_profiles"]

_Id = BigInteger().with_variant(Integer(), "sqlite")

charging_profiles = Table(
    "charging_profiles",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column(
        "station_id", String(255), ForeignKey("stations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("evse_id", StationInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),  # chargingProfileId
    Column("stack_level", Integer, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("recurrency_kind", String(16)),
    Column("valid_from", UtcDateTime),
    Column("valid_to", UtcDateTime),
    Column("transaction_id", String(255)),
    Column("schedule", JSON, nullable=False),
    Column("status", String(16)),  # the station's answer; None: no answer
    Column("installed", Boolean, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    Index(None, "station_id", "installed"),
)
