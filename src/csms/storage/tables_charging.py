"""Tables of authorization, 1.6 transactions and reservations, on the shared :data:`metadata`.

* ``id_tokens``: the token store, keyed by the case-folded token (1.6 §7.28: case-insensitive).
* ``transactions_v16``: transactions whose id the CSMS issues. ``id`` *is* the 1.6 transactionId:
  a persistent sequence unique across stations (SQLite ``AUTOINCREMENT`` never reuses an id,
  PostgreSQL's identity neither). The unique key (station, EVSE = 1.6 connectorId, idTag, timestamp,
  meterStart) makes a retried StartTransaction find its transaction (ocpp-rules §3.1).
* ``meter_value_messages``: the content digest of every 1.6 MeterValues stored, so a retry is
  stored once.
* ``unmatched_transaction_messages``: Stop/MeterValues naming no transaction of their station,
  kept whole for reconciliation (1.6 errata 3.18).
* ``reservations``: ``id`` is the reservationId, again a persistent sequence.
* ``transaction_audit``: operators' actions on transactions.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from csms.storage.tables import metadata
from csms.storage.types import StationInteger, UtcDateTime

__all__ = [
    "id_tokens",
    "meter_value_messages",
    "reservations",
    "transaction_audit",
    "transactions_v16",
    "unmatched_transaction_messages",
]

_Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", _Id, primary_key=True, autoincrement=True)


def _station_id() -> Column[str]:
    return Column(
        "station_id", String(255), ForeignKey("stations.id", ondelete="CASCADE"), nullable=False
    )


id_tokens = Table(
    "id_tokens",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("id_token", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("expiry_date", UtcDateTime),
    Column("parent_id_token", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # 2.x idTokenInfo only (0010): language1, and the EVSEs it is valid at ("1,3"; None: all).
    Column("language", String(8)),
    Column("evse_ids", Text),
    # 2.x IdTokenEnumType (0013); None: a 1.6 idTag, matched whatever type is presented.
    Column("token_type", String(20)),
    CheckConstraint("status IN ('Accepted', 'Blocked', 'Invalid')", name="status"),
)

transactions_v16 = Table(
    "transactions_v16",
    metadata,
    _id(),
    _station_id(),
    Column("evse_id", StationInteger, nullable=False),
    Column("connector_id", StationInteger, nullable=False),
    Column("id_tag", Text, nullable=False),  # as the station sent it (part of the retry key)
    Column("id_tag_key", Text, nullable=False),  # case-folded, for ConcurrentTx
    Column("id_tag_status", String(16)),  # the status answered to the StartTransaction
    Column("meter_start", BigInteger, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("reservation_id", BigInteger),
    Column("ended_at", UtcDateTime),
    Column("meter_stop", BigInteger),
    Column("energy_wh", BigInteger),  # never negative
    Column("stopped_reason", Text),
    Column("stop_id_tag", Text),
    Column("closed_by", String(16)),  # station | operator
    Column("flags", Text),  # TransactionFlag values, comma-separated
    # The highest energy register reading seen and when: non-monotonic registers are flagged.
    Column("register_wh", Double, nullable=False),
    Column("register_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),  # the last message about it
    # A retried StartTransaction (ocpp-rules §3.1); named: the conventional name is too long.
    UniqueConstraint(
        "station_id",
        "evse_id",
        "id_tag",
        "started_at",
        "meter_start",
        name="uq_transactions_v16_start",
    ),
    Index(None, "id_tag_key", "ended_at"),
    Index(None, "ended_at", "updated_at"),
    Index(None, "started_at", "id"),  # 0012: keyset pages of the listing, newest first
    Index(None, "station_id", "started_at", "id"),
    sqlite_autoincrement=True,
)

meter_value_messages = Table(
    "meter_value_messages",
    metadata,
    _station_id(),
    Column("digest", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "digest"),
)

unmatched_transaction_messages = Table(
    "unmatched_transaction_messages",
    metadata,
    _id(),
    _station_id(),
    Column("action", String(32), nullable=False),
    Column("transaction_id", BigInteger),
    Column("outcome", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("raw", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "digest"),
)

reservations = Table(
    "reservations",
    metadata,
    _id(),
    _station_id(),
    Column("connector_id", StationInteger, nullable=False),
    Column("id_token", Text, nullable=False),
    Column("parent_id_token", Text),
    Column("expiry_date", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("transaction_id", String(255)),  # 1.6 ids as text, 2.x transactionIds as sent
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
    sqlite_autoincrement=True,
)

transaction_audit = Table(
    "transaction_audit",
    metadata,
    _id(),
    Column(
        "transaction_id",
        BigInteger,
        ForeignKey("transactions_v16.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("station_id", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("operator", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "transaction_id", "id"),
)
