"""Integer columns that hold what stations send (connectorId, evseId, list sizes) become BIGINT.

The schemas allow any JSON integer and csms admits the signed 64-bit range (csms.messages.limits);
an INTEGER column on PostgreSQL made a connectorId of 2^31 fail on every retry. SQLite's INTEGER
already holds 64 bits, so there is nothing to do there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = {
    "connector_status": ("evse_id", "connector_id"),
    "status_history": ("evse_id", "connector_id"),
    "meter_values": ("evse_id",),
    "transaction_events": ("evse_id", "connector_id"),
    "transactions": ("evse_id", "connector_id"),
    "transactions_v16": ("evse_id", "connector_id"),
    "reservations": ("connector_id",),
    "charging_profiles": ("evse_id",),
    "local_lists": ("max_items", "max_bytes"),
}


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    # Values beyond 32 bits would not fit back: the downgrade fails rather than lose them.
    _retype(sa.BigInteger(), sa.Integer())


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in _COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, existing_type=old, type_=new)
