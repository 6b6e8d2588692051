"""The OCPP message log: one row per exchange (a CALL with its answer: both frames, secrets
masked, the latency and the outcome) or per frame outside one, bounded by the pruner.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Self-contained, like every migration (see 0001).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ocpp_messages",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("frame", sa.Text(), nullable=True),
        sa.Column("response_type", sa.String(length=16), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("response_size", sa.Integer(), nullable=True),
        sa.Column("response_frame", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_messages")),
    )


def downgrade() -> None:
    op.drop_table("ocpp_messages")
