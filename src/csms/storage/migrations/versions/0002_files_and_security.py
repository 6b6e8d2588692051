"""Firmware images, file requests and received files; security events and certificates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Self-contained, like 0001: it keeps producing the schema it was written for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _station_id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f(f"fk_{table}_station_id_stations"),
            ondelete="CASCADE",
        ),
    ]


def _request_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["request_id"],
        ["file_requests.id"],
        name=op.f(f"fk_{table}_request_id_file_requests"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "firmware_images",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firmware_images")),
    )
    op.create_table(
        "file_requests",
        *_id("file_requests"),
        *_station_id("file_requests"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("firmware_id", sa.String(length=64), nullable=True),
        sa.Column("log_type", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("expires_at"),
        sa.ForeignKeyConstraint(
            ["firmware_id"],
            ["firmware_images.id"],
            name=op.f("fk_file_requests_firmware_id_firmware_images"),
        ),
        sa.UniqueConstraint("token_digest", name=op.f("uq_file_requests_token_digest")),
    )
    op.create_index(
        op.f("ix_file_requests_station_id_kind_id"), "file_requests", ["station_id", "kind", "id"]
    )
    op.create_table(
        "file_request_status",
        *_id("file_request_status"),
        *_station_id("file_request_status"),
        sa.Column("request_id", _ID, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _ts("at"),
        _request_fk("file_request_status"),
    )
    op.create_index(
        op.f("ix_file_request_status_request_id_id"), "file_request_status", ["request_id", "id"]
    )
    op.create_table(
        "received_files",
        *_id("received_files"),
        sa.Column("request_id", _ID, nullable=False),
        *_station_id("received_files"),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        _ts("received_at"),
        _request_fk("received_files"),
    )
    op.create_index(op.f("ix_received_files_station_id_id"), "received_files", ["station_id", "id"])
    op.create_table(
        "security_events",
        *_id("security_events"),
        *_station_id("security_events"),
        sa.Column("type", sa.Text(), nullable=False),
        _ts("timestamp"),
        sa.Column("tech_info", sa.Text(), nullable=True),
        sa.Column("critical", sa.Boolean(), nullable=False),
        _ts("received_at"),
    )
    op.create_index(
        op.f("ix_security_events_station_id_id"), "security_events", ["station_id", "id"]
    )
    op.create_index(op.f("ix_security_events_critical_id"), "security_events", ["critical", "id"])
    op.create_table(
        "certificate_requests",
        *_id("certificate_requests"),
        *_station_id("certificate_requests"),
        sa.Column("csr", sa.Text(), nullable=False),
        sa.Column("certificate_type", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certificate_chain", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("created_at"),
    )
    op.create_index(
        op.f("ix_certificate_requests_station_id_id"), "certificate_requests", ["station_id", "id"]
    )
    op.create_table(
        "installed_certificates",
        *_station_id("installed_certificates"),
        sa.Column("certificate_type", sa.String(length=64), nullable=False),
        sa.Column("hash_algorithm", sa.String(length=16), nullable=False),
        sa.Column("issuer_name_hash", sa.String(length=128), nullable=False),
        sa.Column("issuer_key_hash", sa.String(length=128), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        _ts("reported_at"),
        sa.PrimaryKeyConstraint(
            "station_id",
            "hash_algorithm",
            "issuer_name_hash",
            "issuer_key_hash",
            "serial_number",
            name=op.f("pk_installed_certificates"),
        ),
    )


def downgrade() -> None:
    for table in (
        "installed_certificates",
        "certificate_requests",
        "security_events",
        "received_files",
        "file_request_status",
        "file_requests",
        "firmware_images",
    ):
        op.drop_table(table)
