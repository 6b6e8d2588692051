"""The 2.x device model (reported attributes, monitors, report progress, notified events) and
the station notifications kept whole.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Self-contained, like every migration (see 0001).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _station_id(table: str) -> list[Any]:
    return [
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f(f"fk_{table}_station_id_stations"),
            ondelete="CASCADE",
        ),
    ]


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("component_instance", sa.Text(), nullable=True),
        sa.Column("evse_id", sa.BigInteger(), nullable=True),
        sa.Column("connector_id", sa.BigInteger(), nullable=True),
        sa.Column("variable", sa.Text(), nullable=False),
        sa.Column("variable_instance", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "device_model_attributes",
        *_station_id("device_model_attributes"),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("attribute_type", sa.String(length=16), nullable=False),
        *_key_columns(),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("mutability", sa.String(length=16), nullable=True),
        sa.Column("persistent", sa.Boolean(), nullable=True),
        sa.Column("constant", sa.Boolean(), nullable=True),
        sa.Column("data_type", sa.String(length=16), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("min_limit", sa.Double(), nullable=True),
        sa.Column("max_limit", sa.Double(), nullable=True),
        sa.Column("values_list", sa.Text(), nullable=True),
        sa.Column("supports_monitoring", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "path", "attribute_type", name=op.f("pk_device_model_attributes")
        ),
    )
    op.create_table(
        "device_model_reports",
        *_station_id("device_model_reports"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("seq_nos", sa.Text(), nullable=False),
        sa.Column("final_seq_no", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "kind", "request_id", name=op.f("pk_device_model_reports")
        ),
    )
    op.create_table(
        "variable_monitors",
        *_station_id("variable_monitors"),
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        *_key_columns(),
        sa.Column("transaction", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "monitor_id", name=op.f("pk_variable_monitors")),
    )
    op.create_table(
        "device_events",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        *_station_id("device_events"),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.BigInteger(), nullable=True),
        sa.Column("actual_value", sa.Text(), nullable=False),
        sa.Column("tech_code", sa.Text(), nullable=True),
        sa.Column("tech_info", sa.Text(), nullable=True),
        sa.Column("cleared", sa.Boolean(), nullable=True),
        sa.Column("transaction_id", sa.Text(), nullable=True),
        sa.Column("variable_monitoring_id", sa.BigInteger(), nullable=True),
        sa.Column("notification_type", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.BigInteger(), nullable=True),
        *_key_columns(),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_events")),
        sa.UniqueConstraint(
            "station_id",
            "event_id",
            "timestamp",
            name=op.f("uq_device_events_station_id_event_id_timestamp"),
        ),
    )
    op.create_index(op.f("ix_device_events_station_id_id"), "device_events", ["station_id", "id"])
    op.create_table(
        "station_notifications",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        *_station_id("station_notifications"),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("evse_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_notifications")),
    )
    op.create_index(
        op.f("ix_station_notifications_station_id_action_id"),
        "station_notifications",
        ["station_id", "action", "id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_station_notifications_station_id_action_id"), table_name="station_notifications"
    )
    op.drop_table("station_notifications")
    op.drop_index(op.f("ix_device_events_station_id_id"), table_name="device_events")
    op.drop_table("device_events")
    op.drop_table("variable_monitors")
    op.drop_table("device_model_reports")
    op.drop_table("device_model_attributes")
