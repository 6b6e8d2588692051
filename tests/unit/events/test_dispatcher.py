"""The webhook dispatcher's subscription cache and retry delays (no sockets)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from csms.domain.events import EventFilter
from csms.domain.webhooks import PendingDelivery, WebhookSubscription, verify
from csms.events import InProcessBus, WebhookDispatcher, WebhookOptions

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SUB = WebhookSubscription(1, "https://h.example.com/", "s", (), (), True, NOW, NOW)


class SlowFirstList:
    """list(): the first call (begun before the subscription existed) answers late and empty."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.calls = 0

    async def list(self, **kwargs: Any) -> list[WebhookSubscription]:
        self.calls += 1
        if self.calls == 1:
            await self.gate.wait()
            return []
        return [SUB]


async def test_a_reload_begun_before_a_change_does_not_overwrite_a_later_one() -> None:
    repository = SlowFirstList()
    dispatcher = WebhookDispatcher(repository, InProcessBus(), WebhookOptions())  # type: ignore[arg-type]
    try:
        early = asyncio.create_task(dispatcher._reload())
        await asyncio.sleep(0)  # it is waiting for its (empty) answer
        dispatcher.changed()  # the subscription was created meanwhile
        late = asyncio.create_task(dispatcher._reload())
        await asyncio.sleep(0)
        repository.gate.set()
        await asyncio.gather(early, late)
        assert dispatcher._subscriptions == {1: SUB}
    finally:
        await dispatcher.aclose()


async def test_retry_delays_double_with_jitter_up_to_the_cap() -> None:
    options = WebhookOptions(backoff=2.0, max_backoff=10.0)
    dispatcher = WebhookDispatcher(SlowFirstList(), InProcessBus(), options)  # type: ignore[arg-type]
    try:
        for attempts, base in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)):
            for _ in range(20):
                assert base / 2 <= dispatcher._delay(attempts) <= base
    finally:
        await dispatcher.aclose()


def _pending() -> PendingDelivery:
    return PendingDelivery(7, 1, 99, "station.boot", '{"id":99}', 0)


async def test_a_redirect_is_a_failed_attempt_never_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest"})

    dispatcher = WebhookDispatcher(
        SlowFirstList(),  # type: ignore[arg-type]
        InProcessBus(),
        WebhookOptions(),
        transport=httpx.MockTransport(handler),
    )
    try:
        status, error = await dispatcher._post(SUB, _pending())
    finally:
        await dispatcher.aclose()
    assert (status, error) == (302, "HTTP 302: redirects are not followed")
    assert [str(r.url) for r in seen] == [SUB.url]
    request = seen[0]
    assert request.headers["csms-event-id"] == "99" and request.headers["csms-delivery-id"] == "7"
    assert verify(SUB.secret, request.headers["csms-signature"], request.content, int(time.time()))


async def test_block_private_refuses_a_name_resolving_to_loopback_at_each_attempt() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent")

    dispatcher = WebhookDispatcher(
        SlowFirstList(),  # type: ignore[arg-type]
        InProcessBus(),
        WebhookOptions(block_private=True),
        transport=httpx.MockTransport(handler),
    )
    local = dataclasses.replace(SUB, url="https://localhost:8443/hook")
    try:
        status, error = await dispatcher._post(local, _pending())
    finally:
        await dispatcher.aclose()
    assert status is None and error is not None and "BLOCK_PRIVATE" in error


class Outbox:
    """list(): the one subscription, created at NOW; enqueue(): keeps the rows."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    async def list(self, **kwargs: Any) -> list[WebhookSubscription]:
        return [SUB]

    async def enqueue(self, rows: list[Any], now: datetime) -> None:
        self.rows.extend(rows)


async def test_an_event_older_than_the_subscription_is_not_delivered_to_it() -> None:
    # The intake may read the subscriptions after an older event was published (the merged API
    # made this race visible: a station's registration reached a hook created after it).
    now = [datetime(2025, 12, 31, tzinfo=UTC)]  # before SUB's creation
    bus = InProcessBus(clock=lambda: now[0])
    outbox = Outbox()
    dispatcher = WebhookDispatcher(outbox, bus, WebhookOptions())  # type: ignore[arg-type]
    try:
        bus.publish("station.registration", "CS1", {})
        now[0] = datetime(2026, 1, 2, tzinfo=UTC)  # after it
        bus.publish("station.boot", "CS1", {})
        _, events = bus.replay(0, EventFilter(), limit=10)
        await dispatcher._accept(events)
        assert [row.event_type for row in outbox.rows] == ["station.boot"]
    finally:
        await dispatcher.aclose()
