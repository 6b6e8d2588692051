"""2.x transactions closed by an operator or by csms (a station that reported the connector free):
who closed it, its flags, and the operator; a late Ended from the station still replaces the close.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("closed_by", sa.String(length=16)),
    ("flags", sa.Text()),
    ("close_operator", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
