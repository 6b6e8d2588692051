"""Webhook subscriptions, their outbox of deliveries, and the signature receivers verify.

A subscription names a URL, the event types (prefixes) and stations it wants and a secret. Each
matching event becomes one delivery row (the outbox) before the first attempt, so a restart
resends what was accepted; each attempt updates the row (attempts, status code, latency, error),
which is the delivery log. After ``disable_after`` failed attempts in a row with no success in
between the subscription is disabled, with the reason kept.

Signature (like Stripe's): header ``Csms-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 with the subscription's secret over ``"<t>." + body``. A receiver recomputes it,
compares in constant time, rejects a ``t`` more than a few minutes old (replays) and de-duplicates
on the event id (deliveries are at least once).
"""

from __future__ import annotations

import builtins
import enum
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "SIGNATURE_HEADER",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "NewDelivery",
    "PendingDelivery",
    "WebhookRepository",
    "WebhookSubscription",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "Csms-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Csms-Signature`` header value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, *, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # in the outbox: next attempt at next_attempt_at
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # every attempt failed


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    id: int
    url: str
    secret: str
    event_types: tuple[str, ...]  # prefixes; empty: all
    station_ids: tuple[str, ...]  # empty: all
    enabled: bool
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    disabled_reason: str | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An event accepted for one subscription."""

    subscription_id: int
    event_id: int
    event_type: str
    station_id: str | None
    body: str  # the JSON document, signed at each attempt


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A delivery due for its next attempt."""

    id: int
    subscription_id: int
    event_id: int
    event_type: str
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """The outcome of one attempt, to store."""

    delivery_id: int
    subscription_id: int
    state: DeliveryState
    attempts: int
    at: datetime
    next_attempt_at: datetime | None
    status_code: int | None
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the delivery log."""

    id: int
    subscription_id: int
    event_id: int
    event_type: str
    station_id: str | None
    state: DeliveryState
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: float | None
    last_error: str | None


class WebhookRepository(Protocol):
    """Subscriptions and the outbox/delivery log (committed on return, as every port)."""

    async def create(
        self,
        *,
        url: str,
        secret: str,
        event_types: Sequence[str],
        station_ids: Sequence[str],
        description: str | None,
        now: datetime,
    ) -> WebhookSubscription: ...

    async def get(self, subscription_id: int) -> WebhookSubscription | None: ...

    async def list(
        self, *, after_id: int | None = None, limit: int = 50
    ) -> Sequence[WebhookSubscription]: ...

    async def count(self) -> int: ...

    async def update(
        self,
        subscription_id: int,
        now: datetime,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        station_ids: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> WebhookSubscription | None:
        """Change the given fields; enabling clears the failure count and the reason."""
        ...

    async def delete(self, subscription_id: int) -> bool: ...

    async def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> None:
        """Put deliveries in the outbox, due now."""
        ...

    async def due(self, now: datetime, *, limit: int) -> Sequence[PendingDelivery]:
        """Pending deliveries of enabled subscriptions due by ``now``, oldest first."""
        ...

    async def record_attempts(
        self, attempts: Sequence[DeliveryAttempt], *, disable_after: int
    ) -> builtins.list[int]:
        """Store attempts; count failures per subscription (a success resets) and disable those
        with ``disable_after`` failures in a row. Returns the ids of the subscriptions disabled."""
        ...

    async def deliveries(
        self, subscription_id: int, *, before_id: int | None = None, limit: int = 50
    ) -> Sequence[Delivery]:
        """The delivery log, newest first."""
        ...

    async def prune(self, older_than: datetime, *, keep: int) -> int:
        """Delete deliveries last updated before ``older_than`` and all but the newest ``keep``
        of each subscription; returns how many went."""
        ...
