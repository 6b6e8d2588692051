"""2.x transactions: the status csms answered for the authorising idToken, the energy from the
Energy.Active.Import.Register readings of their events, and the seqNos received (gap detection);
id tokens: the language and EVSE restrictions 2.x idTokenInfo reports.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("id_token_status", sa.String(length=16)),
    ("meter_start_wh", sa.BigInteger()),
    ("meter_start_at", sa.DateTime(timezone=True)),
    ("meter_stop_wh", sa.BigInteger()),
    ("meter_stop_at", sa.DateTime(timezone=True)),
    ("energy_wh", sa.BigInteger()),
    ("seq_nos", sa.Text()),
)


_TOKEN_COLUMNS = (
    ("language", sa.String(length=8)),
    ("evse_ids", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("id_tokens") as batch:
        for name, type_ in _TOKEN_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("id_tokens") as batch:
        for name, _ in reversed(_TOKEN_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("transactions") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
