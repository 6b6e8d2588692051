"""Tables of local authorization lists (1.6 §3.5.2, §5.15; 2.x D01–D03), on the shared metadata.

``local_lists`` holds one row per station whose list csms manages: the version of the target list,
the station's last known version, the sync state and the station's cached per-message limits.
``local_list_entries`` is the target list itself; ``local_list_updates`` the append-only history
of SendLocalList messages and the station's answers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from csms.storage.tables import metadata
from csms.storage.types import StationInteger, UtcDateTime

__all__ = ["local_list_entries", "local_list_updates", "local_lists"]

_Id = BigInteger().with_variant(Integer(), "sqlite")


def _station_id() -> Column[str]:
    return Column(
        "station_id", String(255), ForeignKey("stations.id", ondelete="CASCADE"), nullable=False
    )


local_lists = Table(
    "local_lists",
    metadata,
    _station_id(),
    Column("version", BigInteger, nullable=False),  # of the target list; 0: never sent
    Column("station_version", BigInteger),  # None: unknown
    Column("state", String(16), nullable=False),  # LocalListSyncState
    Column("last_status", String(16)),  # UpdateStatus of the last answer
    Column("max_items", StationInteger),  # SendLocalListMaxLength / ItemsPerMessage, once read
    Column("max_bytes", StationInteger),  # 2.x BytesPerMessage, once read
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id"),
)

local_list_entries = Table(
    "local_list_entries",
    metadata,
    _station_id(),
    Column("id_token", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("expiry_date", UtcDateTime),
    Column("parent_id_token", Text),
    Column("token_type", Text),
    PrimaryKeyConstraint("station_id", "id_token"),
)

local_list_updates = Table(
    "local_list_updates",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    _station_id(),
    Column("version", BigInteger, nullable=False),
    Column("update_type", String(16), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("status", String(16)),  # None: no answer
    Column("error", Text),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
)
