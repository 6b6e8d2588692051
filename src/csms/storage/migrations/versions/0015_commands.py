"""Typed operator commands: command jobs (with per-station results) and the desired
configuration operators set (issue 9).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "command_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("stations", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("station_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_command_jobs_created", "command_jobs", ["created_at", "id"])
    op.create_index("ix_command_jobs_state", "command_jobs", ["state"])
    op.create_table(
        "desired_settings",
        sa.Column(
            "station_id",
            sa.String(255),
            sa.ForeignKey("stations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32)),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "kind", "name"),
    )


def downgrade() -> None:
    op.drop_table("desired_settings")
    op.drop_index("ix_command_jobs_state", "command_jobs")
    op.drop_index("ix_command_jobs_created", "command_jobs")
    op.drop_table("command_jobs")
