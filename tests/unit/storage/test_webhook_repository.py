"""Webhook subscriptions, the outbox and the delivery log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from csms.domain.webhooks import DeliveryAttempt, DeliveryState, NewDelivery
from csms.storage import SqlWebhookRepository, Store

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_outbox_attempts_disabling_and_retention(store: Store) -> None:
    repo = SqlWebhookRepository(store.engine)
    sub = await repo.create(
        url="https://h.example.com/", secret="whsec_s", event_types=["transaction."],
        station_ids=["CS1"], description="billing", now=T0,
    )  # fmt: skip
    assert (sub.event_types, sub.station_ids, sub.enabled) == (("transaction.",), ("CS1",), True)
    await repo.enqueue(
        [NewDelivery(sub.id, n, "transaction.started", "CS1", f'{{"id":{n}}}') for n in range(5)],
        T0,
    )
    assert await repo.due(T0 - timedelta(seconds=1), limit=10) == []
    due = await repo.due(T0, limit=3)
    assert [d.event_id for d in due] == [0, 1, 2] and due[0].body == '{"id":0}'

    def attempt(delivery_id: int, ok: bool, at: datetime) -> DeliveryAttempt:
        return DeliveryAttempt(
            delivery_id, sub.id, DeliveryState.DELIVERED if ok else DeliveryState.PENDING, 1, at,
            None if ok else at + timedelta(seconds=5), 200 if ok else 500, 1.5,
            None if ok else "HTTP 500",
        )  # fmt: skip

    assert await repo.record_attempts([attempt(due[0].id, True, T0)], disable_after=2) == []
    # Two failures in a row disable it; the reason names the last error.
    failed = [attempt(d.id, False, T0) for d in due[1:]]
    assert await repo.record_attempts(failed, disable_after=2) == [sub.id]
    now = await repo.get(sub.id)
    assert now is not None and not now.enabled and now.consecutive_failures == 2
    assert now.disabled_reason == "2 failed delivery attempts in a row; last: HTTP 500"
    assert await repo.due(T0 + timedelta(hours=1), limit=10) == []  # disabled: nothing due
    log = await repo.deliveries(sub.id)
    assert [(d.event_id, d.state, d.last_status_code) for d in log[-3:]] == [
        (2, DeliveryState.PENDING, 500),
        (1, DeliveryState.PENDING, 500),
        (0, DeliveryState.DELIVERED, 200),
    ]
    assert [d.event_id for d in await repo.deliveries(sub.id, before_id=log[1].id)] == [2, 1, 0]
    # Re-enabled: failures reset, the pending ones are due again.
    again = await repo.update(sub.id, T0, enabled=True)
    assert again is not None and again.enabled and again.disabled_reason is None
    assert len(await repo.due(T0 + timedelta(hours=1), limit=10)) == 4
    # Retention: the newest 2 are kept; rows older than the cutoff go.
    assert await repo.prune(T0 - timedelta(days=1), keep=2) == 3
    assert [d.event_id for d in await repo.deliveries(sub.id)] == [4, 3]
    assert await repo.prune(T0 + timedelta(seconds=1), keep=10) == 2
    assert await repo.count() == 1
    assert await repo.delete(sub.id) and not await repo.delete(sub.id)
    assert await repo.count() == 0
