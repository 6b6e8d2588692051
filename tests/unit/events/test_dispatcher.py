"""The webhook dispatcher's subscription cache and retry delays (no sockets)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from csms.domain.webhooks import WebhookSubscription
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
