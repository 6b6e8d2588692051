"""Id tokens keep their 2.x type (IdTokenEnumType; None for a 1.6 idTag, matched whatever type
is presented).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("id_tokens") as batch:
        batch.add_column(sa.Column("token_type", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("id_tokens") as batch:
        batch.drop_column("token_type")
