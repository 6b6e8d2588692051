"""Local authorization lists and the charging-profile store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Self-contained, like 0001: the schema of ``csms.storage.tables_localauth`` and
``csms.storage.tables_smartcharging`` as written for this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[object]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
        nullable=False,
    )  # fmt: skip


def _station_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["station_id"],
        ["stations.id"],
        name=op.f(f"fk_{table}_station_id_stations"),
        ondelete="CASCADE",
    )


def _station_id() -> sa.Column[object]:
    return sa.Column("station_id", sa.String(length=255), nullable=False)


def upgrade() -> None:
    op.create_table(
        "local_lists",
        _station_id(),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("station_version", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("max_items", sa.Integer(), nullable=True),
        sa.Column("max_bytes", sa.Integer(), nullable=True),
        _ts("updated_at", nullable=False),
        _station_fk("local_lists"),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_local_lists")),
    )
    op.create_table(
        "local_list_entries",
        _station_id(),
        sa.Column("id_token", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("expiry_date"),
        sa.Column("parent_id_token", sa.Text(), nullable=True),
        sa.Column("token_type", sa.Text(), nullable=True),
        _station_fk("local_list_entries"),
        sa.PrimaryKeyConstraint("station_id", "id_token", name=op.f("pk_local_list_entries")),
    )
    op.create_table(
        "local_list_updates",
        _id(),
        _station_id(),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("update_type", sa.String(length=16), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("at", nullable=False),
        _station_fk("local_list_updates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_list_updates")),
    )
    op.create_index(
        op.f("ix_local_list_updates_station_id_id"), "local_list_updates", ["station_id", "id"]
    )
    op.create_table(
        "charging_profiles",
        _id(),
        _station_id(),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("stack_level", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recurrency_kind", sa.String(length=16), nullable=True),
        _ts("valid_from"),
        _ts("valid_to"),
        sa.Column("transaction_id", sa.String(length=255), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("installed", sa.Boolean(), nullable=False),
        _ts("sent_at", nullable=False),
        _ts("removed_at"),
        _station_fk("charging_profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_profiles")),
    )
    op.create_index(
        op.f("ix_charging_profiles_station_id_installed"),
        "charging_profiles",
        ["station_id", "installed"],
    )


def downgrade() -> None:
    for table in ("charging_profiles", "local_list_updates", "local_list_entries", "local_lists"):
        op.drop_table(table)
