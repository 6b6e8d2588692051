"""The message log's recorder: a bounded queue that never waits, one writer that pairs each CALL
with its answer into one row (or writes it unanswered), a periodic pruner."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from csms.domain.errors import StorageError
from csms.domain.messagelog import LoggedExchange, MessageQuery, Retention
from csms.server.message_log import FrameTap, MessageLogRecorder

RETENTION = Retention(max_age=60.0, max_rows=10, max_bytes=1000)


class FakeLog:
    def __init__(self) -> None:
        self.batches: list[list[LoggedExchange]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False
        self.prunes = 0

    async def append(self, messages: Sequence[LoggedExchange]) -> None:
        await self.release.wait()
        if self.fail:
            raise StorageError("down")
        self.batches.append(list(messages))

    async def search(self, query: MessageQuery, limit: int) -> Sequence[LoggedExchange]:
        return []

    async def prune(self, retention: Retention, now: datetime) -> int:
        self.prunes += 1
        return 2


async def _settle(recorder: MessageLogRecorder) -> None:
    for _ in range(100):
        if not recorder.queued:
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0)


def _exchange(tap: FrameTap, n: int) -> None:
    """A Heartbeat and its answer: two frames, one row."""
    tap.frame(True, f'[2,"{n}","Heartbeat",{{}}]')
    tap.frame(False, f'[3,"{n}",{{"currentTime":"2026-12-06T00:00:00Z"}}]')


async def test_exchanges_are_written_in_batches_one_row_each() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, batch_size=4)
    await recorder.start()
    tap = recorder.tap("CS1")
    for n in range(5):
        _exchange(tap, n)
    await recorder.aclose()  # writes what is queued
    assert [len(b) for b in log.batches] == [2, 2, 1]  # 4 frames a batch, 2 per row
    assert recorder.written == 5 and recorder.dropped == 0
    rows = [m for b in log.batches for m in b]
    assert {m.station_id for m in rows} == {"CS1"}
    assert [(m.message_id, m.outcome) for m in rows] == [(str(n), "result") for n in range(5)]


async def test_unanswered_calls_are_written_when_the_connection_ends() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, linger=0)
    await recorder.start()
    tap = recorder.tap("CS1")
    tap.frame(False, '[2,"r1","Reset",{"type":"Hard"}]')
    await _settle(recorder)
    assert log.batches == []  # waiting for its answer
    tap.closed()
    await _settle(recorder)
    [[reset]] = log.batches
    assert (reset.action, reset.direction, reset.outcome) == ("Reset", "out", "unanswered")
    await recorder.aclose()


async def test_unanswered_calls_are_written_after_the_answer_timeout() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, linger=0, answer_timeout=0.05)
    await recorder.start()
    tap = recorder.tap("CS1")
    tap.frame(False, '[2,"r1","Reset",{"type":"Hard"}]')
    for _ in range(300):  # no other frame comes: the writer's own timer gives up on it
        if log.batches:
            break
        await asyncio.sleep(0.01)
    [[reset]] = log.batches
    assert (reset.action, reset.outcome) == ("Reset", "unanswered")
    tap.frame(True, '[3,"r1",{"status":"Accepted"}]')  # too late: a row of its own
    await recorder.aclose()
    [late] = log.batches[1]
    assert (late.message_type, late.action, late.outcome) == ("CALLRESULT", None, None)


async def test_an_idle_writer_visits_only_the_connections_with_calls_waiting() -> None:
    """Idle cost (issue 11): with thousands of idle connections, the writer's wake-ups and its
    answer-timeout sweep look at the few with a CALL waiting, not at every connection."""
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, linger=0, answer_timeout=0.05)
    await recorder.start()
    for n in range(200):
        _exchange(recorder.tap(f"CS{n}"), n)
    busy = recorder.tap("BUSY")
    busy.frame(False, '[2,"r1","Reset",{"type":"Hard"}]')
    for _ in range(300):
        if len(recorder._open) == 201:
            break
        await asyncio.sleep(0.01)
    assert len(recorder._open) == 201 and recorder.dropped == 0
    assert list(recorder._waiting) == [busy._frames] and recorder.waiting == 1
    for _ in range(300):  # the sweep writes the Reset as unanswered, then nothing is waiting
        if not recorder._waiting:
            break
        await asyncio.sleep(0.01)
    assert recorder._waiting == {} and recorder.waiting == 0
    assert [m.outcome for b in log.batches for m in b].count("unanswered") == 1
    await recorder.aclose()


async def test_calls_still_waiting_are_written_when_the_recorder_closes() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION)
    await recorder.start()
    recorder.tap("CS1").frame(True, '[2,"1","Heartbeat",{}]')
    await recorder.aclose()
    assert [m.outcome for b in log.batches for m in b] == ["unanswered"]


async def test_a_full_queue_drops_and_counts_and_never_waits() -> None:
    log = FakeLog()
    log.release.clear()  # the database hangs
    recorder = MessageLogRecorder(log, retention=RETENTION, queue_size=5, batch_size=2, linger=0)
    await recorder.start()
    tap = recorder.tap("CS1")
    tap.frame(True, '[2,"0","Heartbeat",{}]')
    await asyncio.sleep(0)  # the writer takes it and hangs
    for n in range(1, 20):
        tap.frame(True, f'[2,"{n}","Heartbeat",{{}}]')  # synchronous: cannot wait
    assert recorder.queued == 5
    assert recorder.dropped == 14
    log.release.set()
    await recorder.aclose()
    assert recorder.written == 6  # unanswered CALLs: written as the recorder closes


async def test_a_failed_write_is_counted_and_the_writer_goes_on() -> None:
    log = FakeLog()
    log.fail = True
    recorder = MessageLogRecorder(log, retention=RETENTION, linger=0)
    await recorder.start()
    tap = recorder.tap("CS1")
    _exchange(tap, 0)
    await _settle(recorder)
    log.fail = False
    _exchange(tap, 1)
    await recorder.aclose()
    assert (recorder.failed, recorder.written) == (1, 1)


async def test_the_writer_lingers_until_a_batch_is_full() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, batch_size=4, linger=30)
    await recorder.start()
    await asyncio.sleep(0)  # the writer waits for a first frame
    tap = recorder.tap("CS1")
    _exchange(tap, 0)
    for _ in range(5):
        await asyncio.sleep(0)
    assert log.batches == []  # lingering: one row is not worth a transaction
    _exchange(tap, 1)  # the batch is full (4 frames): written at once
    for _ in range(20):
        if log.batches:
            break
        await asyncio.sleep(0)
    assert [len(b) for b in log.batches] == [2]
    await recorder.aclose()


async def test_the_pruner_runs_periodically() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, prune_interval=0.01)
    await recorder.start()
    for _ in range(100):
        if log.prunes >= 2:
            break
        await asyncio.sleep(0.01)
    await recorder.aclose()
    assert log.prunes >= 2 and recorder.pruned == 2 * log.prunes
