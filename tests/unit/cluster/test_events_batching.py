"""The cluster's event sender (task s13_steady): what is queued goes out as one NATS message,
encoded once, each event exactly once, in order; and the orphan sweep of presence looks at the
dead nodes' claims only."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from csms.cluster import ClusterBus, Holder, PresenceMirror
from csms.cluster.events import EVENTS_SUBJECT, MAX_BATCH, MAX_BATCH_BYTES
from csms.domain.events import EventFilter
from csms.events import InProcessBus


class _Wire:
    """A publisher that records what it sent; ``fail`` refuses the next sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.fail = 0

    async def publish(self, subject: str, payload: bytes) -> None:
        assert subject == EVENTS_SUBJECT
        if self.fail:
            self.fail -= 1
            raise ConnectionError("NATS is not connected")
        self.sent.append(payload)


def _bus(node: str, *, pending_limit: int = 10_000) -> ClusterBus:
    return ClusterBus(node, InProcessBus(), InProcessBus(), pending_limit=pending_limit)


async def _settle(wire: _Wire, count: int) -> None:
    for _ in range(200):
        if len(wire.sent) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"sent {len(wire.sent)} messages, expected {count}")


def _seen(bus: ClusterBus) -> list[tuple[str, str | None, Any]]:
    _marker, events = bus.view.replay(0, EventFilter(), limit=10_000)
    return [(e.type, e.station_id, dict(e.data)) for e in events]


async def test_events_of_one_turn_go_out_as_one_message_and_arrive_once_in_order() -> None:
    wire, a, b = _Wire(), _bus("A"), _bus("B")
    a.start(wire)
    try:
        for n in range(5):  # one commit batch's handlers publish in the same loop turn
            a.publish("station.status", f"CP{n}", {"n": n})
        await _settle(wire, 1)
        await asyncio.sleep(0.05)
        assert len(wire.sent) == 1  # on main: five messages
        for payload in wire.sent:
            b.received(payload)
            a.received(payload)  # its own: ignored
        expected = [("station.status", f"CP{n}", {"n": n}) for n in range(5)]
        assert _seen(b) == expected
        assert _seen(a) == expected  # published locally, not twice
    finally:
        await a.aclose()


async def test_a_failed_send_is_retried_whole_never_duplicated() -> None:
    wire, a, b = _Wire(), _bus("A"), _bus("B")
    wire.fail = 2
    a.start(wire)
    try:
        a.publish("station.status", "CP1", {"n": 1})
        a.publish("station.status", "CP2", {"n": 2})
        await _settle(wire, 1)
        a.publish("station.status", "CP3", {"n": 3})
        for _ in range(200):
            if not a._pending:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert wire.fail == 0
        for payload in wire.sent:
            b.received(payload)
        assert [sid for _t, sid, _d in _seen(b)] == ["CP1", "CP2", "CP3"]
    finally:
        await a.aclose()


async def test_a_long_queue_is_split_and_a_too_large_event_does_not_block_the_rest() -> None:
    wire, a, b = _Wire(), _bus("A"), _bus("B")
    count = MAX_BATCH + 10
    for n in range(count):
        a.publish("meter.values", "CP1", {"n": n})
    a.publish("meter.values", "CP2", {"blob": "x" * (MAX_BATCH_BYTES + 1)})
    a.publish("meter.values", "CP3", {"n": -1})
    a.start(wire)
    try:
        await _settle(wire, 3)
        await asyncio.sleep(0.05)
        for payload in wire.sent:
            assert len(payload) <= MAX_BATCH_BYTES
            b.received(payload)
        seen = _seen(b)
        assert [d["n"] for _t, _s, d in seen] == [*range(count), -1]
        assert a.dropped == 1  # the one too large for NATS, counted
    finally:
        await a.aclose()


def test_the_single_event_form_of_earlier_versions_is_still_read() -> None:
    b = _bus("B")
    doc = {"node": "A", "type": "station.boot", "station_id": "CP1", "data": {"x": 1}}
    b.received(orjson.dumps(doc))
    b.received(b"not json")
    b.received(orjson.dumps({"node": "A", "events": [["only-two", "CP1"]]}))
    assert _seen(b) == [("station.boot", "CP1", {"x": 1})]


class _CountingDict(dict[str, int]):
    """The mirror's entries, counting the sweeps that walk them."""

    walks = 0

    def items(self) -> Any:
        _CountingDict.walks += 1
        return super().items()


def test_the_orphan_sweep_walks_the_stations_only_while_a_dead_node_holds_some() -> None:
    mirror = PresenceMirror("B", 10.0)
    mirror.node_renewed("A", 0.0)
    mirror.node_renewed("C", 0.0)
    for n in range(1_000):
        mirror.claimed(f"L{n}", Holder("C", "1.6", revision=n + 1))
    mirror.claimed("D1", Holder("A", "1.6", revision=2_001))
    mirror.claimed("D2", Holder("A", "1.6", revision=2_002))
    mirror.claimed("D3", Holder("A", "1.6", revision=2_003))
    mirror.claimed("D3", Holder("C", "1.6", revision=2_004))  # moved to a live node
    mirror.released("D2", revision=2_005)
    mirror.node_renewed("C", 100.0)
    mirror._entries = _CountingDict(mirror._entries)
    assert mirror.orphans(105.0) == [("D1", 2_001)]
    mirror.released("D1", revision=2_006)  # the sweep deleted it: A holds nothing any more
    _CountingDict.walks = 0
    assert mirror.orphans(105.0) == []
    assert _CountingDict.walks == 0  # main: every station, every third of the lease, forever
    mirror.reset()
    assert mirror.orphans(105.0) == []
