"""Each station's lowest security profile (2.0.1 / 1.6 whitepaper A05.FR.09: no downgrade once a
station connected on a higher profile); NULL means the server's CSMS_SECURITY_PROFILE.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.add_column(sa.Column("min_security_profile", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("min_security_profile")
