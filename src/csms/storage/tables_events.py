"""Tables of the webhooks (:mod:`csms.domain.webhooks`): subscriptions and the deliveries, which
are at once the outbox (``state = 'pending'``) and the delivery log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from csms.storage.tables import _id, metadata
from csms.storage.types import UtcDateTime

__all__ = ["webhook_deliveries", "webhook_subscriptions"]

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    _id(),
    Column("url", Text, nullable=False),
    # The signing key: needed in clear to sign, shown to the operator once at creation.
    Column("secret", Text, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("station_ids", JSON, nullable=False),
    Column("description", Text),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id(),
    Column(
        "subscription_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("station_id", String(255)),  # no foreign key: the log outlives a deleted station
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_status_code", Integer),
    Column("last_latency_ms", Double),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
)
