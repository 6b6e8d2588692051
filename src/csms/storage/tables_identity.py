"""Tables of operator accounts, their API tokens and sessions, and the audit log (migration
0016), on the shared :data:`~csms.storage.tables.metadata`.

Tokens, session ids and CSRF tokens are stored only as SHA-256 digests, passwords as argon2 PHC
strings. Audit rows have no foreign key to accounts: they outlive renamed or deleted accounts.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from csms.storage.tables import metadata
from csms.storage.types import UtcDateTime

__all__ = ["audit_log", "operator_accounts", "operator_api_tokens", "operator_sessions"]

_Id = BigInteger().with_variant(Integer(), "sqlite")


def _account_id() -> Column[int]:
    return Column(
        "account_id",
        _Id,
        ForeignKey("operator_accounts.id", ondelete="CASCADE"),
        nullable=False,
    )


operator_accounts = Table(
    "operator_accounts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
)

operator_api_tokens = Table(
    "operator_api_tokens",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    _account_id(),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Index(None, "account_id"),
)

operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    _account_id(),
    Column("csrf_digest", LargeBinary(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=False),
    Index(None, "account_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("auth_kind", String(16), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("station_id", String(255)),
    Column("status", Integer, nullable=False),
    Column("client", String(64), nullable=False),
    Index(None, "at"),
    Index(None, "actor", "id"),
    Index(None, "station_id", "id"),
)
