"""Initial schema: stations, connector status, boots, connections, meter values, transactions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Self-contained on purpose: a migration must keep producing the schema it was written for, whatever
``csms.storage.tables`` becomes later. Timestamps are ``DateTime(timezone=True)``, the storage type
under ``UtcDateTime``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_HISTORY_TABLES = ("status_history", "boot_notifications", "connection_events")


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(*names: str) -> list[sa.Column[object]]:
    return [sa.Column(name, sa.Text(), nullable=True) for name in names]


def _id() -> sa.Column[object]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
        nullable=False,
    )  # fmt: skip


def _station_id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f(f"fk_{table}_station_id_stations"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("registration_status", sa.String(length=16), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("ocpp_version", sa.String(length=16), nullable=True),
        *_text("vendor_name", "model", "serial_number", "firmware_version", "iccid", "imsi"),
        *_text("meter_type", "meter_serial_number", "password_hash"),
        sa.Column("lenient", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("last_boot_at"),
        _ts("last_seen_at"),
        _ts("connected_at"),
        _ts("disconnected_at"),
        sa.CheckConstraint(
            "registration_status IN ('Accepted', 'Pending', 'Rejected')",
            name=op.f("ck_stations_registration_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
    )
    op.create_table(
        "connector_status",
        *_station_id("connector_status"),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _ts("timestamp", nullable=False),
        *_text("error_code", "info", "vendor_id", "vendor_error_code"),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "evse_id", "connector_id", name=op.f("pk_connector_status")
        ),
    )
    op.create_table(
        "status_history",
        _id(),
        *_station_id("status_history"),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _ts("timestamp", nullable=False),
        *_text("error_code", "info", "vendor_id", "vendor_error_code"),
        _ts("received_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
    )
    op.create_table(
        "boot_notifications",
        _id(),
        *_station_id("boot_notifications"),
        sa.Column("vendor_name", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        *_text("serial_number", "firmware_version", "iccid", "imsi", "meter_type"),
        *_text("meter_serial_number", "reason"),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boot_notifications")),
    )
    op.create_table(
        "connection_events",
        _id(),
        *_station_id("connection_events"),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("ocpp_version", sa.String(length=16), nullable=True),
        _ts("at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_events")),
    )
    for table in _HISTORY_TABLES:
        op.create_index(op.f(f"ix_{table}_station_id_id"), table, ["station_id", "id"])
    op.create_table(
        "meter_values",
        _id(),
        *_station_id("meter_values"),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("transaction_id", sa.String(length=255), nullable=True),
        _ts("timestamp", nullable=False),
        sa.Column("measurand", sa.Text(), nullable=False),
        *_text("phase", "unit", "context", "location"),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("raw_value", sa.Text(), nullable=False),
        *_text("signed_data"),
        _ts("received_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_values")),
    )
    op.create_index(
        op.f("ix_meter_values_station_id_transaction_id"),
        "meter_values",
        ["station_id", "transaction_id"],
    )
    op.create_table(
        "transaction_events",
        _id(),
        *_station_id("transaction_events"),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("seq_no", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        _ts("timestamp", nullable=False),
        sa.Column("trigger_reason", sa.Text(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        *_text("charging_state", "stopped_reason", "id_token"),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        _ts("received_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_events")),
        sa.UniqueConstraint(
            "station_id",
            "transaction_id",
            "seq_no",
            name=op.f("uq_transaction_events_station_id_transaction_id_seq_no"),
        ),
    )
    op.create_table(
        "transactions",
        _id(),
        *_station_id("transactions"),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        *_text("id_token"),
        sa.Column("id_token_seq_no", sa.BigInteger(), nullable=True),
        _ts("started_at"),
        _ts("ended_at"),
        *_text("stopped_reason", "charging_state"),
        sa.Column("charging_state_seq_no", sa.BigInteger(), nullable=True),
        sa.Column("last_seq_no", sa.BigInteger(), nullable=True),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint(
            "station_id", "transaction_id", name=op.f("uq_transactions_station_id_transaction_id")
        ),
    )


def downgrade() -> None:
    for table in ("transactions", "transaction_events", "meter_values", *_HISTORY_TABLES):
        op.drop_table(table)
    op.drop_table("connector_status")
    op.drop_table("stations")
