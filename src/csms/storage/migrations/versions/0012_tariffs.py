"""Tariffs, their assignments by scope (token, EVSE, station, default) and the cost csms computed
for each priced transaction (2.0.1 block I).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Self-contained, like every migration (see 0001).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_AMOUNT = 40


def _amount(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=_AMOUNT), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tariffs",
        sa.Column("tariff_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _amount("price_per_kwh"),
        _amount("price_per_hour"),
        _amount("session_fee"),
        _amount("tax_rate"),
        _amount("min_cost", nullable=True),
        _amount("max_cost", nullable=True),
        sa.Column("descriptions", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tariff_id", name=op.f("pk_tariffs")),
    )
    op.create_table(
        "tariff_assignments",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("tariff_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.String(length=255), nullable=True),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("id_token", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tariff_id"],
            ["tariffs.tariff_id"],
            name=op.f("fk_tariff_assignments_tariff_id_tariffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_tariff_assignments")),
    )
    op.create_index(op.f("ix_tariff_assignments_tariff_id"), "tariff_assignments", ["tariff_id"])
    op.create_table(
        "transaction_costs",
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("tariff", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.BigInteger(), nullable=False),
        _amount("energy_cost"),
        _amount("time_cost"),
        _amount("session_fee"),
        _amount("tax"),
        _amount("total_cost"),
        sa.Column("final", sa.Boolean(), nullable=False),
        _amount("sent_total", nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "transaction_id", name=op.f("pk_transaction_costs")),
    )
    op.create_index(
        op.f("ix_transaction_costs_final_updated_at"),
        "transaction_costs",
        ["final", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_transaction_costs_final_updated_at"), table_name="transaction_costs")
    op.drop_table("transaction_costs")
    op.drop_index(op.f("ix_tariff_assignments_tariff_id"), table_name="tariff_assignments")
    op.drop_table("tariff_assignments")
    op.drop_table("tariffs")
