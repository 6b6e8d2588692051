"""The in-process event bus: filters, replay after an id, slow subscribers, gap markers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from csms.domain.events import Event, EventFilter, EventType
from csms.events import InProcessBus


def _bus(**kwargs: int) -> InProcessBus:
    return InProcessBus(first_id=1, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC), **kwargs)


async def _drain(sub: object, count: int) -> list[Event]:
    out = []
    for _ in range(count):
        event = await sub.next(timeout=0.5)  # type: ignore[attr-defined]
        assert event is not None
        out.append(event)
    return out


async def test_events_get_increasing_ids_and_a_json_document() -> None:
    bus = _bus()
    sub = bus.subscribe(EventFilter())
    bus.publish("station.connected", "CS1", {"ocpp_version": "2.0.1"})
    bus.publish("station.boot", "CS1", {"model": "m"})
    first, second = await _drain(sub, 2)
    assert (first.id, second.id) == (1, 2)
    assert orjson.loads(first.wire) == {
        "id": 1,
        "type": "station.connected",
        "station_id": "CS1",
        "time": "2026-01-01T00:00:00+00:00",
        "data": {"ocpp_version": "2.0.1"},
    }
    assert first.envelope() == orjson.loads(first.wire)


async def test_an_event_is_encoded_once_and_only_when_sent() -> None:
    """The OCPP path publishes whether anyone listens or not: encoding waits for a reader."""
    bus = _bus()
    bus.publish("meter.values", "CS1", {"odd": {1, 2}})  # not JSON: sent as its text
    [event] = bus.replay(0, EventFilter(), limit=10)[1]
    assert event.encoded == ""
    text = event.wire
    assert orjson.loads(text)["data"] == {"odd": "{1, 2}"}
    assert event.encoded == text and event.wire is text


async def test_filter_by_station_and_type_prefix() -> None:
    bus = _bus()
    sub = bus.subscribe(EventFilter(stations=frozenset({"CS1"}), types=("transaction.",)))
    bus.publish("transaction.started", "CS2", {})
    bus.publish("station.status", "CS1", {})
    bus.publish("transaction.started", "CS1", {"n": 1})
    bus.publish("transaction.ended", "CS1", {"n": 2})
    got = await _drain(sub, 2)
    assert [(e.type, e.data["n"]) for e in got] == [
        ("transaction.started", 1),
        ("transaction.ended", 2),
    ]
    assert await sub.next(timeout=0.01) is None


async def test_next_times_out_without_events() -> None:
    sub = _bus().subscribe(EventFilter())
    assert await sub.next(timeout=0.01) is None


async def test_subscribe_after_an_id_replays_then_goes_live_without_duplicates() -> None:
    bus = _bus()
    for n in range(5):
        bus.publish("station.status", "CS1", {"n": n})
    sub = bus.subscribe(EventFilter(), after=2)  # ids 1..5 published: 3, 4, 5 are replayed
    bus.publish("station.status", "CS1", {"n": 5})
    got = await _drain(sub, 4)
    assert [e.id for e in got] == [3, 4, 5, 6]
    assert await sub.next(timeout=0.01) is None


async def test_an_id_older_than_the_buffer_gives_one_gap_marker() -> None:
    bus = _bus(replay_size=3)
    for n in range(6):  # ids 1..6; the buffer holds 4, 5, 6
        bus.publish("station.status", "CS1", {"n": n})
    sub = bus.subscribe(EventFilter(types=("station.",)), after=1)
    marker, *rest = await _drain(sub, 4)
    assert marker.type == EventType.EVENTS_LOST
    assert marker.id == 3  # the last id lost: resuming from it asks for nothing lost again
    assert marker.data == {"after": 1, "lost_through": 3, "reason": "replay buffer exceeded"}
    assert [e.id for e in rest] == [4, 5, 6]


async def test_a_slow_subscriber_never_blocks_the_publisher_and_catches_up_losslessly() -> None:
    bus = _bus(replay_size=1000, queue_size=2)
    sub = bus.subscribe(EventFilter())
    for n in range(50):  # returns at once: publish never awaits a subscriber
        bus.publish("meter.values", "CS1", {"n": n})
    got = await _drain(sub, 50)
    assert [e.data["n"] for e in got] == list(range(50))
    assert sub.dropped > 0  # it did overflow, and caught up from the replay buffer
    bus.publish("meter.values", "CS1", {"n": 50})
    assert (await _drain(sub, 1))[0].data["n"] == 50


async def test_a_subscriber_slower_than_the_buffer_gets_a_gap_marker_then_the_rest() -> None:
    bus = _bus(replay_size=10, queue_size=2)
    sub = bus.subscribe(EventFilter())
    for n in range(30):
        bus.publish("meter.values", "CS1", {"n": n})
    got = await _drain(sub, 13)
    assert [e.id for e in got[:2]] == [1, 2]  # queued before it overflowed
    assert got[2].type == EventType.EVENTS_LOST
    assert got[2].data["lost_through"] == 20
    assert [e.id for e in got[3:]] == list(range(21, 31))
    assert await sub.next(timeout=0.01) is None


async def test_a_waiting_subscriber_is_woken_by_publish() -> None:
    bus = _bus()
    sub = bus.subscribe(EventFilter())
    waiter = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    bus.publish("station.boot", "CS1", {})
    event = await asyncio.wait_for(waiter, 1)
    assert event is not None and event.type == "station.boot"


async def test_closed_subscriptions_receive_nothing_and_are_not_counted() -> None:
    bus = _bus()
    sub = bus.subscribe(EventFilter())
    assert bus.subscriber_count == 1
    sub.close()
    sub.close()
    assert bus.subscriber_count == 0
    bus.publish("station.boot", "CS1", {})
    assert await sub.next(timeout=0.01) is None


def test_ids_of_a_later_run_are_larger() -> None:
    early = InProcessBus(clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    later = InProcessBus(clock=lambda: datetime(2026, 1, 2, tzinfo=UTC))
    early.publish("x", None, {})
    assert later.last_id > early.last_id
    assert later.last_id < 2**53  # exact in JavaScript


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InProcessBus(replay_size=0)


async def test_take_ready_returns_what_is_queued_and_catches_up() -> None:
    bus = _bus(queue_size=2)
    sub = bus.subscribe(EventFilter())
    assert sub.take_ready(10) == []
    for n in range(5):
        bus.publish("x", None, {"n": n})
    assert [e.id for e in sub.take_ready(3)] == [1, 2, 3]  # 2 queued, then the replay buffer
    assert [e.id for e in sub.take_ready(10)] == [4, 5]
    assert sub.take_ready(10) == []


async def test_publish_never_raises_on_a_value_json_cannot_hold() -> None:
    from decimal import Decimal

    bus = _bus()
    sub = bus.subscribe(EventFilter())
    bus.publish("meter.values", "CS1", {"value": Decimal("1.5")})
    [event] = await _drain(sub, 1)
    assert orjson.loads(event.wire)["data"] == {"value": "1.5"}
