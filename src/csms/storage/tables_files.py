"""Tables of the firmware, diagnostics and security blocks, on the shared :data:`metadata`.

Same rules as :mod:`csms.storage.tables`. URL tokens are stored only as their SHA-256
(``token_digest``); file contents live in the blob store, rows hold their key, size and SHA-256.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from csms.storage.tables import metadata
from csms.storage.types import UtcDateTime

__all__ = [
    "certificate_requests",
    "file_request_status",
    "file_requests",
    "firmware_images",
    "installed_certificates",
    "received_files",
    "security_events",
]

_Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", _Id, primary_key=True, autoincrement=True)


def _station_id() -> Column[str]:
    return Column(
        "station_id", String(255), ForeignKey("stations.id", ondelete="CASCADE"), nullable=False
    )


firmware_images = Table(
    "firmware_images",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("filename", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("blob_key", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

file_requests = Table(
    "file_requests",
    metadata,
    _id(),
    _station_id(),
    Column("kind", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("firmware_id", String(64), ForeignKey("firmware_images.id")),
    Column("log_type", Text),
    Column("details", JSON, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "kind", "id"),
)

# Every status of a request; request_id None: a notification csms could not match to a request.
file_request_status = Table(
    "file_request_status",
    metadata,
    _id(),
    _station_id(),
    Column("request_id", _Id, ForeignKey("file_requests.id", ondelete="CASCADE")),
    Column("kind", String(16), nullable=False),
    Column("status", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "request_id", "id"),
)

received_files = Table(
    "received_files",
    metadata,
    _id(),
    Column(
        "request_id",
        _Id,
        ForeignKey("file_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _station_id(),
    Column("filename", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("blob_key", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
)

security_events = Table(
    "security_events",
    metadata,
    _id(),
    _station_id(),
    Column("type", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("tech_info", Text),
    Column("critical", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
    Index(None, "critical", "id"),
)

certificate_requests = Table(
    "certificate_requests",
    metadata,
    _id(),
    _station_id(),
    Column("csr", Text, nullable=False),
    Column("certificate_type", Text),
    Column("status", String(16), nullable=False),
    Column("certificate_chain", Text),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "station_id", "id"),
)

installed_certificates = Table(
    "installed_certificates",
    metadata,
    _station_id(),
    Column("certificate_type", String(64), nullable=False),
    Column("hash_algorithm", String(16), nullable=False),
    Column("issuer_name_hash", String(128), nullable=False),
    Column("issuer_key_hash", String(128), nullable=False),
    Column("serial_number", String(64), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint(
        "station_id", "hash_algorithm", "issuer_name_hash", "issuer_key_hash", "serial_number"
    ),
)
