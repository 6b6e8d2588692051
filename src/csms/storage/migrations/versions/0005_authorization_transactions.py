"""Authorization, 1.6 transactions, reservations: id tokens, CSMS-issued transaction ids,
MeterValues de-duplication, unmatched transaction messages, reservations, transaction audit, and an
index on the 2.x transactions' id token.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Self-contained, like 0001: it must keep producing the schema it was written for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


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
        "id_tokens",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("expiry_date"),
        sa.Column("parent_id_token", sa.Text(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.CheckConstraint(
            "status IN ('Accepted', 'Blocked', 'Invalid')", name=op.f("ck_id_tokens_status")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_id_tokens")),
    )
    op.create_table(
        "transactions_v16",
        _id(),
        *_station_id("transactions_v16"),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("id_tag", sa.Text(), nullable=False),
        sa.Column("id_tag_key", sa.Text(), nullable=False),
        sa.Column("id_tag_status", sa.String(length=16), nullable=True),
        sa.Column("meter_start", sa.BigInteger(), nullable=False),
        _ts("started_at", nullable=False),
        sa.Column("reservation_id", sa.BigInteger(), nullable=True),
        _ts("ended_at"),
        sa.Column("meter_stop", sa.BigInteger(), nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=True),
        sa.Column("stopped_reason", sa.Text(), nullable=True),
        sa.Column("stop_id_tag", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.String(length=16), nullable=True),
        sa.Column("flags", sa.Text(), nullable=True),
        sa.Column("register_wh", sa.Double(), nullable=False),
        _ts("register_at", nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions_v16")),
        sa.UniqueConstraint(
            "station_id",
            "evse_id",
            "id_tag",
            "started_at",
            "meter_start",
            name=op.f("uq_transactions_v16_start"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_transactions_v16_id_tag_key_ended_at"),
        "transactions_v16",
        ["id_tag_key", "ended_at"],
    )
    op.create_index(
        op.f("ix_transactions_v16_ended_at_updated_at"),
        "transactions_v16",
        ["ended_at", "updated_at"],
    )
    # Authorize asks whether a token is in an open 2.x transaction too.
    op.create_index(
        op.f("ix_transactions_id_token_ended_at"), "transactions", ["id_token", "ended_at"]
    )
    op.create_table(
        "meter_value_messages",
        *_station_id("meter_value_messages"),
        sa.Column("digest", sa.String(length=64), nullable=False),
        _ts("received_at", nullable=False),
        sa.PrimaryKeyConstraint("station_id", "digest", name=op.f("pk_meter_value_messages")),
    )
    op.create_table(
        "unmatched_transaction_messages",
        _id(),
        *_station_id("unmatched_transaction_messages"),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        _ts("received_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmatched_transaction_messages")),
        sa.UniqueConstraint(
            "station_id", "digest", name=op.f("uq_unmatched_transaction_messages_station_id_digest")
        ),
    )
    op.create_table(
        "reservations",
        _id(),
        *_station_id("reservations"),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("parent_id_token", sa.Text(), nullable=True),
        _ts("expiry_date", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_reservations_station_id_id"), "reservations", ["station_id", "id"])
    op.create_table(
        "transaction_audit",
        _id(),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _ts("at", nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions_v16.id"],
            name=op.f("fk_transaction_audit_transaction_id_transactions_v16"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_audit")),
    )
    op.create_index(
        op.f("ix_transaction_audit_transaction_id_id"),
        "transaction_audit",
        ["transaction_id", "id"],
    )


def downgrade() -> None:
    for table in (
        "transaction_audit",
        "reservations",
        "unmatched_transaction_messages",
        "meter_value_messages",
        "transactions_v16",
        "id_tokens",
    ):
        op.drop_table(table)
    op.drop_index(op.f("ix_transactions_id_token_ended_at"), table_name="transactions")
