"""Connection history: a disconnect's reason (the WebSocket close code and text) beside the
connects and disconnects that connection_events already kept.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

Self-contained, like every migration (see 0001).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connection_events") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connection_events") as batch:
        batch.drop_column("reason")
