"""Operator accounts (roles, argon2 password hashes), their API tokens and browser sessions (SHA-256
digests only), and the audit log of state-changing API requests.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Self-contained: it keeps producing the schema it was written for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account_id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("account_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["operator_accounts.id"],
            name=op.f(f"fk_{table}_account_id_operator_accounts"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "operator_accounts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("disabled_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_operator_accounts_name")),
    )
    op.create_table(
        "operator_api_tokens",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        *_account_id("operator_api_tokens"),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at"),
        _ts("revoked_at"),
        _ts("last_used_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_api_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_operator_api_tokens_digest")),
    )
    op.create_index(
        op.f("ix_operator_api_tokens_account_id"), "operator_api_tokens", ["account_id"]
    )
    op.create_table(
        "operator_sessions",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        *_account_id("operator_sessions"),
        sa.Column("csrf_digest", sa.LargeBinary(length=32), nullable=False),
        _ts("created_at", nullable=False),
        _ts("last_used_at", nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_operator_sessions")),
    )
    op.create_index(op.f("ix_operator_sessions_account_id"), "operator_sessions", ["account_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _ts("at", nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("auth_kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("station_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor", "id"])
    op.create_index(op.f("ix_audit_log_station_id_id"), "audit_log", ["station_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("operator_sessions")
    op.drop_table("operator_api_tokens")
    op.drop_table("operator_accounts")
