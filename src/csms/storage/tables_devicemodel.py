"""Tables of the 2.x device model (reported attributes, monitors, report progress and events) and
of the station notifications kept whole (:mod:`csms.domain.notifications`).

``device_model_attributes`` holds the current knowledge, one row per (station, variable path,
attribute type); ``path`` is :meth:`csms.domain.devicemodel.VariableKey.path`, which is unique per
variable and avoids unique indexes over nullable columns (NULLs never collide in SQL).
``device_events`` is append-only history, stored once per (station, eventId, timestamp).
Every integer a station reports is a ``BIGINT``: the schemas bound none of them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from csms.storage.tables import _id, _station_id, metadata
from csms.storage.types import UtcDateTime

__all__ = [
    "device_events",
    "device_model_attributes",
    "device_model_reports",
    "station_notifications",
    "variable_monitors",
]


def _key_columns() -> list[Column[object]]:
    """The columns of a :class:`~csms.domain.devicemodel.VariableKey` (2.x ids are integers)."""
    return [
        Column("component", Text, nullable=False),
        Column("component_instance", Text),
        Column("evse_id", BigInteger),
        Column("connector_id", BigInteger),
        Column("variable", Text, nullable=False),
        Column("variable_instance", Text),
    ]


device_model_attributes = Table(
    "device_model_attributes",
    metadata,
    _station_id(),
    Column("path", Text, nullable=False),
    Column("attribute_type", String(16), nullable=False),
    *_key_columns(),
    Column("value", Text),  # None: reported without a value (e.g. WriteOnly)
    Column("mutability", String(16)),
    Column("persistent", Boolean),
    Column("constant", Boolean),
    Column("data_type", String(16)),
    Column("unit", Text),
    Column("min_limit", Double),
    Column("max_limit", Double),
    Column("values_list", Text),
    Column("supports_monitoring", Boolean),
    Column("source", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "path", "attribute_type"),
)

device_model_reports = Table(
    "device_model_reports",
    metadata,
    _station_id(),
    Column("kind", String(16), nullable=False),  # variables | monitors
    Column("request_id", BigInteger, nullable=False),
    Column("seq_nos", Text, nullable=False),  # the seqNos received, comma-separated, ascending
    Column("final_seq_no", BigInteger),  # the seqNo of the part with tbc = false, once received
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "kind", "request_id"),
)

variable_monitors = Table(
    "variable_monitors",
    metadata,
    _station_id(),
    Column("monitor_id", BigInteger, nullable=False),
    *_key_columns(),
    Column("transaction", Boolean, nullable=False),
    Column("value", Double, nullable=False),
    Column("type", String(32), nullable=False),
    Column("severity", BigInteger, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "monitor_id"),
)

device_events = Table(
    "device_events",
    metadata,
    _id(),
    _station_id(),
    Column("event_id", BigInteger, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("cause", BigInteger),
    Column("actual_value", Text, nullable=False),
    Column("tech_code", Text),
    Column("tech_info", Text),
    Column("cleared", Boolean),
    Column("transaction_id", Text),
    Column("variable_monitoring_id", BigInteger),
    Column("notification_type", String(32), nullable=False),
    Column("severity", BigInteger),
    *_key_columns(),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "event_id", "timestamp"),
    Index(None, "station_id", "id"),
)

station_notifications = Table(
    "station_notifications",
    metadata,
    _id(),
    _station_id(),
    Column("action", String(64), nullable=False),
    Column("request_id", BigInteger),
    Column("evse_id", BigInteger),
    Column("payload", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "action", "id"),
)
