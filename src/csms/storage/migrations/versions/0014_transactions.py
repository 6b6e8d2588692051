"""Operator API (issue 9): indexes for the keyset-paged transaction listing and the meter series
per EVSE, and a station's decommissioning time (a soft delete that keeps its history).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (index name, table, columns): newest-first pages, overall and per station; EVSE meter series.
_INDEXES = (
    ("ix_transactions_v16_started_at_id", "transactions_v16", ["started_at", "id"]),
    (
        "ix_transactions_v16_station_id_started_at_id",
        "transactions_v16",
        ["station_id", "started_at", "id"],
    ),
    ("ix_transactions_started_at_id", "transactions", ["started_at", "id"]),
    (
        "ix_transactions_station_id_started_at_id",
        "transactions",
        ["station_id", "started_at", "id"],
    ),
    (
        "ix_meter_values_station_id_evse_id_timestamp",
        "meter_values",
        ["station_id", "evse_id", "timestamp"],
    ),
)


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.add_column(sa.Column("decommissioned_at", sa.DateTime(timezone=True), nullable=True))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("decommissioned_at")
