"""The message log's recorder: a bounded queue that never waits, one writer, a periodic pruner."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from csms.domain.errors import StorageError
from csms.domain.messagelog import LoggedMessage, MessageQuery, Retention
from csms.server.message_log import MessageLogRecorder

RETENTION = Retention(max_age=60.0, max_rows=10, max_bytes=1000)


class FakeLog:
    def __init__(self) -> None:
        self.batches: list[list[LoggedMessage]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False
        self.prunes = 0

    async def append(self, messages: Sequence[LoggedMessage]) -> None:
        await self.release.wait()
        if self.fail:
            raise StorageError("down")
        self.batches.append(list(messages))

    async def search(self, query: MessageQuery, limit: int) -> Sequence[LoggedMessage]:
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


async def test_frames_are_written_in_batches() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, batch_size=4)
    await recorder.start()
    tap = recorder.tap("CS1")
    for n in range(10):
        tap(True, f'[2,"{n}","Heartbeat",{{}}]')
    await recorder.aclose()  # writes what is queued
    assert [len(b) for b in log.batches] == [4, 4, 2]
    assert recorder.written == 10 and recorder.dropped == 0
    assert {m.station_id for b in log.batches for m in b} == {"CS1"}


async def test_a_full_queue_drops_and_counts_and_never_waits() -> None:
    log = FakeLog()
    log.release.clear()  # the database hangs
    recorder = MessageLogRecorder(log, retention=RETENTION, queue_size=5, batch_size=2, linger=0)
    await recorder.start()
    tap = recorder.tap("CS1")
    tap(True, '[2,"0","Heartbeat",{}]')
    await asyncio.sleep(0)  # the writer takes it and hangs
    for n in range(1, 20):
        tap(True, f'[2,"{n}","Heartbeat",{{}}]')  # synchronous: cannot wait
    assert recorder.queued == 5
    assert recorder.dropped == 14
    log.release.set()
    await recorder.aclose()
    assert recorder.written == 6


async def test_a_failed_write_is_counted_and_the_writer_goes_on() -> None:
    log = FakeLog()
    log.fail = True
    recorder = MessageLogRecorder(log, retention=RETENTION, linger=0)
    await recorder.start()
    tap = recorder.tap("CS1")
    tap(True, '[2,"0","Heartbeat",{}]')
    await _settle(recorder)
    log.fail = False
    tap(True, '[2,"1","Heartbeat",{}]')
    await recorder.aclose()
    assert (recorder.failed, recorder.written) == (1, 1)


async def test_the_writer_lingers_until_a_batch_is_full() -> None:
    log = FakeLog()
    recorder = MessageLogRecorder(log, retention=RETENTION, batch_size=3, linger=30)
    await recorder.start()
    await asyncio.sleep(0)  # the writer waits for a first frame
    tap = recorder.tap("CS1")
    tap(True, '[2,"0","Heartbeat",{}]')
    for _ in range(5):
        await asyncio.sleep(0)
    assert log.batches == []  # lingering: one frame is not worth a transaction
    tap(True, '[2,"1","Heartbeat",{}]')
    tap(True, '[2,"2","Heartbeat",{}]')  # the batch is full: written at once
    for _ in range(20):
        if log.batches:
            break
        await asyncio.sleep(0)
    assert [len(b) for b in log.batches] == [3]
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
