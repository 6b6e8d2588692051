"""SQL implementation of :class:`csms.domain.webhooks.WebhookRepository`.

Operator changes and the dispatcher's batches each run in one short transaction of their own
(:mod:`csms.storage.direct`), committed before the call returns.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    NewDelivery,
    PendingDelivery,
    WebhookSubscription,
)
from csms.storage.direct import reading, writing
from csms.storage.tables_events import webhook_deliveries as deliveries
from csms.storage.tables_events import webhook_subscriptions as subscriptions

__all__ = ["SqlWebhookRepository"]


def _subscription(row: RowMapping) -> WebhookSubscription:
    return WebhookSubscription(
        id=row["id"],
        url=row["url"],
        secret=row["secret"],
        event_types=tuple(row["event_types"]),
        station_ids=tuple(row["station_ids"]),
        enabled=row["enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        description=row["description"],
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
    )


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(
        id=row["id"],
        subscription_id=row["subscription_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        station_id=row["station_id"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        next_attempt_at=row["next_attempt_at"],
        last_status_code=row["last_status_code"],
        last_latency_ms=row["last_latency_ms"],
        last_error=row["last_error"],
    )


class SqlWebhookRepository:
    """Implements :class:`csms.domain.webhooks.WebhookRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        *,
        url: str,
        secret: str,
        event_types: Sequence[str],
        station_ids: Sequence[str],
        description: str | None,
        now: datetime,
    ) -> WebhookSubscription:
        async with writing(self._engine) as conn:
            result = await conn.execute(
                insert(subscriptions)
                .values(
                    url=url,
                    secret=secret,
                    event_types=list(event_types),
                    station_ids=list(station_ids),
                    description=description,
                    enabled=True,
                    disabled_reason=None,
                    consecutive_failures=0,
                    created_at=now,
                    updated_at=now,
                )
                .returning(subscriptions)
            )
            return _subscription(result.mappings().one())

    async def get(self, subscription_id: int) -> WebhookSubscription | None:
        async with reading(self._engine) as conn:
            row = (
                (
                    await conn.execute(
                        select(subscriptions).where(subscriptions.c.id == subscription_id)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _subscription(row)

    async def list(
        self, *, after_id: int | None = None, limit: int = 50
    ) -> Sequence[WebhookSubscription]:
        stmt = select(subscriptions).order_by(subscriptions.c.id).limit(limit)
        if after_id is not None:
            stmt = stmt.where(subscriptions.c.id > after_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_subscription(row) for row in rows]

    async def count(self) -> int:
        async with reading(self._engine) as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(subscriptions))).scalar_one()
            )

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
        values: dict[str, Any] = {"updated_at": now}
        if url is not None:
            values["url"] = url
        if event_types is not None:
            values["event_types"] = list(event_types)
        if station_ids is not None:
            values["station_ids"] = list(station_ids)
        if description is not None:
            values["description"] = description
        if enabled is not None:
            values["enabled"] = enabled
            if enabled:
                values.update(consecutive_failures=0, disabled_reason=None)
            else:
                values["disabled_reason"] = "disabled by an operator"
        async with writing(self._engine) as conn:
            row = (
                (
                    await conn.execute(
                        update(subscriptions)
                        .where(subscriptions.c.id == subscription_id)
                        .values(**values)
                        .returning(subscriptions)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _subscription(row)

    async def delete(self, subscription_id: int) -> bool:
        async with writing(self._engine) as conn:
            await conn.execute(
                delete(deliveries).where(deliveries.c.subscription_id == subscription_id)
            )
            result = await conn.execute(
                delete(subscriptions).where(subscriptions.c.id == subscription_id)
            )
        return bool(result.rowcount)

    async def enqueue(self, new: Sequence[NewDelivery], now: datetime) -> None:
        if not new:
            return
        rows = [
            {
                "subscription_id": d.subscription_id,
                "event_id": d.event_id,
                "event_type": d.event_type,
                "station_id": d.station_id,
                "body": d.body,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for d in new
        ]
        async with writing(self._engine) as conn:
            await conn.execute(insert(deliveries), rows)

    async def due(self, now: datetime, *, limit: int) -> Sequence[PendingDelivery]:
        stmt = (
            select(
                deliveries.c.id,
                deliveries.c.subscription_id,
                deliveries.c.event_id,
                deliveries.c.event_type,
                deliveries.c.body,
                deliveries.c.attempts,
            )
            .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(
                and_(
                    deliveries.c.state == DeliveryState.PENDING.value,
                    deliveries.c.next_attempt_at <= now,
                    subscriptions.c.enabled.is_(True),
                )
            )
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [PendingDelivery(*row) for row in rows]

    async def record_attempts(
        self, attempts: Sequence[DeliveryAttempt], *, disable_after: int
    ) -> builtins.list[int]:
        if not attempts:
            return []
        disabled: builtins.list[int] = []
        async with writing(self._engine) as conn:
            await conn.execute(  # one executemany for the batch
                update(deliveries)
                .where(deliveries.c.id == bindparam("delivery_id"))
                .values(
                    state=bindparam("new_state"),
                    attempts=bindparam("new_attempts"),
                    next_attempt_at=bindparam("new_next_attempt_at"),
                    last_status_code=bindparam("new_status_code"),
                    last_latency_ms=bindparam("new_latency_ms"),
                    last_error=bindparam("new_error"),
                    updated_at=bindparam("new_updated_at"),
                ),
                [
                    {
                        "delivery_id": a.delivery_id,
                        "new_state": a.state.value,
                        "new_attempts": a.attempts,
                        "new_next_attempt_at": a.next_attempt_at,
                        "new_status_code": a.status_code,
                        "new_latency_ms": a.latency_ms,
                        "new_error": a.error,
                        "new_updated_at": a.at,
                    }
                    for a in attempts
                ],
            )
            # Per subscription, in attempt order: a success resets the run of failures.
            by_subscription: dict[int, builtins.list[DeliveryAttempt]] = {}
            for a in attempts:
                by_subscription.setdefault(a.subscription_id, []).append(a)
            for sid, own in by_subscription.items():
                current = (
                    await conn.execute(
                        select(subscriptions.c.consecutive_failures, subscriptions.c.enabled).where(
                            subscriptions.c.id == sid
                        )
                    )
                ).first()
                if current is None:
                    continue
                failures, enabled = current
                last_error = None
                for a in own:
                    if a.state is DeliveryState.DELIVERED:
                        failures = 0
                    else:
                        failures += 1
                        last_error = a.error
                values: dict[str, Any] = {"consecutive_failures": failures}
                if enabled and failures >= disable_after:
                    values.update(
                        enabled=False,
                        disabled_reason=(
                            f"{failures} failed delivery attempts in a row; last: {last_error}"
                        ),
                        updated_at=own[-1].at,
                    )
                    disabled.append(sid)
                await conn.execute(
                    update(subscriptions).where(subscriptions.c.id == sid).values(**values)
                )
        return disabled

    async def deliveries(
        self, subscription_id: int, *, before_id: int | None = None, limit: int = 50
    ) -> Sequence[Delivery]:
        stmt = (
            select(deliveries)
            .where(deliveries.c.subscription_id == subscription_id)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            stmt = stmt.where(deliveries.c.id < before_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_delivery(row) for row in rows]

    async def prune(self, older_than: datetime, *, keep: int) -> int:
        removed = 0
        async with writing(self._engine) as conn:
            result = await conn.execute(
                delete(deliveries).where(deliveries.c.updated_at < older_than)
            )
            removed += result.rowcount or 0
            ids = (await conn.execute(select(subscriptions.c.id))).scalars().all()
            for sid in ids:
                cutoff = (
                    await conn.execute(
                        select(deliveries.c.id)
                        .where(deliveries.c.subscription_id == sid)
                        .order_by(deliveries.c.id.desc())
                        .offset(keep)
                        .limit(1)
                    )
                ).scalar()
                if cutoff is not None:
                    result = await conn.execute(
                        delete(deliveries).where(
                            and_(deliveries.c.subscription_id == sid, deliveries.c.id <= cutoff)
                        )
                    )
                    removed += result.rowcount or 0
        return removed
