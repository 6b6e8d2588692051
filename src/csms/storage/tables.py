"""The database schema: SQLAlchemy Core tables on one :data:`metadata`.

Rules:

* Every timestamp is :class:`~csms.storage.types.UtcDateTime` (aware UTC on every backend).
* Strings a station reports are ``Text``: a ``lenient`` station's over-long field is logged by the
  server, and must not then fail the write that lets us acknowledge the message (ocpp-rules §3.3).
* History tables (status, boots, connections, meter values, transaction events) are append-only;
  ``connector_status`` and ``transactions`` hold the current state derived from them.
* Alembic migrations in ``migrations/versions`` must produce exactly this schema (a test compares).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from csms.storage.types import StationInteger, UtcDateTime

__all__ = [
    "boot_notifications",
    "connection_events",
    "connector_status",
    "metadata",
    "meter_values",
    "stations",
    "status_history",
    "transaction_events",
    "transactions",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# 64-bit surrogate keys; SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
_Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", _Id, primary_key=True, autoincrement=True)


def _station_id() -> Column[str]:
    return Column(
        "station_id", String(255), ForeignKey("stations.id", ondelete="CASCADE"), nullable=False
    )


stations = Table(
    "stations",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("registration_status", String(16), nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("ocpp_version", String(16)),
    Column("vendor_name", Text),
    Column("model", Text),
    Column("serial_number", Text),
    Column("firmware_version", Text),
    Column("iccid", Text),
    Column("imsi", Text),
    Column("meter_type", Text),
    Column("meter_serial_number", Text),
    Column("password_hash", Text),
    Column("lenient", Boolean, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_boot_at", UtcDateTime),
    Column("last_seen_at", UtcDateTime),
    Column("connected_at", UtcDateTime),
    Column("disconnected_at", UtcDateTime),
    Column("min_security_profile", SmallInteger),
    Column("pending_password_hash", Text),  # 0011: A01 rotation answered RebootRequired
    Column("decommissioned_at", UtcDateTime),  # 0012: soft delete; handshakes refused, kept
    Column("soap_endpoint", String(512)),  # 0019: a SOAP station's latest From address
    CheckConstraint(
        "registration_status IN ('Accepted', 'Pending', 'Rejected')", name="registration_status"
    ),
)

connector_status = Table(
    "connector_status",
    metadata,
    _station_id(),
    Column("evse_id", StationInteger, nullable=False),
    Column("connector_id", StationInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("error_code", Text),
    Column("info", Text),
    Column("vendor_id", Text),
    Column("vendor_error_code", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "evse_id", "connector_id"),
)

status_history = Table(
    "status_history",
    metadata,
    _id(),
    _station_id(),
    Column("evse_id", StationInteger, nullable=False),
    Column("connector_id", StationInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("error_code", Text),
    Column("info", Text),
    Column("vendor_id", Text),
    Column("vendor_error_code", Text),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
)

boot_notifications = Table(
    "boot_notifications",
    metadata,
    _id(),
    _station_id(),
    Column("vendor_name", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("serial_number", Text),
    Column("firmware_version", Text),
    Column("iccid", Text),
    Column("imsi", Text),
    Column("meter_type", Text),
    Column("meter_serial_number", Text),
    Column("reason", Text),
    Column("status", String(16), nullable=False),  # the RegistrationStatus we answered
    Column("at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
)

connection_events = Table(
    "connection_events",
    metadata,
    _id(),
    _station_id(),
    Column("online", Boolean, nullable=False),
    Column("ocpp_version", String(16)),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", String(160)),  # a disconnect's close code and reason (migration 0020)
    Index(None, "station_id", "id"),
)

meter_values = Table(
    "meter_values",
    metadata,
    _id(),
    _station_id(),
    Column("evse_id", StationInteger),  # None: a TransactionEvent that did not name its EVSE
    Column("transaction_id", String(255)),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("measurand", Text, nullable=False),
    Column("phase", Text),
    Column("unit", Text),
    Column("context", Text),
    Column("location", Text),
    Column("value", Double),
    Column("raw_value", Text, nullable=False),
    Column("signed_data", Text),  # verbatim, never reformatted
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "transaction_id"),
    Index(None, "station_id", "evse_id", "timestamp"),  # 0012: the meter series of an EVSE
)

# 2.x TransactionEvents, stored once each (ocpp-rules §3.2 key: station, transactionId, seqNo).
transaction_events = Table(
    "transaction_events",
    metadata,
    _id(),
    _station_id(),
    Column("transaction_id", String(255), nullable=False),
    Column("seq_no", BigInteger, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("trigger_reason", Text, nullable=False),
    Column("evse_id", StationInteger),
    Column("connector_id", StationInteger),
    Column("charging_state", Text),
    Column("stopped_reason", Text),
    Column("id_token", Text),
    Column("offline", Boolean, nullable=False),
    Column("raw", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "transaction_id", "seq_no"),
)

# One row per (station, transactionId), assembled from its events in whatever order they arrive
# (ocpp-rules §3.2, §6 tests 56-60). started_at is None while no Started event was received.
# The *_seq_no columns record which event set a field, so a late event only overrides it when
# it is the right one (the lowest seqNo for the authorising idToken, the highest for the state).
transactions = Table(
    "transactions",
    metadata,
    _id(),
    _station_id(),
    Column("transaction_id", String(255), nullable=False),
    Column("evse_id", StationInteger),
    Column("connector_id", StationInteger),
    Column("id_token", Text),
    Column("id_token_seq_no", BigInteger),
    Column("started_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("stopped_reason", Text),
    Column("charging_state", Text),
    Column("charging_state_seq_no", BigInteger),
    Column("last_seq_no", BigInteger),
    Column("updated_at", UtcDateTime, nullable=False),
    # Who closed it (station | operator | csms) and TransactionFlag values, comma-separated (0006):
    # an operator's or csms's close is replaced by the station's Ended if it still comes.
    Column("closed_by", String(16)),
    Column("flags", Text),
    Column("close_operator", Text),  # the operator who closed it, with the reason in stopped_reason
    # Authorization and energy (0010): the status csms answered for the authorising idToken, the
    # earliest and latest Energy.Active.Import.Register readings (Wh) and the energy between them,
    # and the seqNos received ("0..4,7..9") so a gap is visible.
    Column("id_token_status", String(16)),
    Column("meter_start_wh", BigInteger),
    Column("meter_start_at", UtcDateTime),
    Column("meter_stop_wh", BigInteger),
    Column("meter_stop_at", UtcDateTime),
    Column("energy_wh", BigInteger),
    Column("seq_nos", Text),
    UniqueConstraint("station_id", "transaction_id"),
    Index(None, "id_token", "ended_at"),  # Authorize: is this token in a transaction? (0002)
    Index(None, "started_at", "id"),  # 0012: keyset pages of the listing, newest first
    Index(None, "station_id", "started_at", "id"),
)

# Tables of other areas live in their own modules on this metadata; importing them here makes
# ``metadata`` complete for Alembic and the schema test.
from csms.storage import tables_files as _tables_files  # noqa: E402, F401
from csms.storage import tables_identity as _tables_identity  # noqa: E402, F401
