"""OCPP over SOAP (issue 12): each SOAP station's ChargePointService address (the WS-Addressing
From of its latest call), so csms can call it after a restart before it calls again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.add_column(sa.Column("soap_endpoint", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("soap_endpoint")
