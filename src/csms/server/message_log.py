"""Records every OCPP exchange in the message log, off the stations' hot path.

A connection's :class:`FrameTap` only appends ``(frames, inbound, frame, monotonic time)`` to one
bounded queue: one clock read, no parsing, no I/O, never a wait (about 0.25 µs a frame). One task
drains it: after the first frame it lingers up to ``linger`` seconds (or until ``batch_size``
frames wait), turns the frames into rows (:class:`~csms.domain.messagelog.StationFrames`: read
each frame's head, pair a CALL with its answer into one row, mask secrets) and hands them to the
repository as one batch (one ``executemany`` in the group committer's next transaction,
``csms.storage.messagelog``). A CALL still waiting for its answer ``answer_timeout`` seconds
later, or when its connection ends, is written unanswered. When the queue is full (the database
is slower than the stations) new frames are dropped and counted (``dropped``, shown by
``/metrics``), so a slow log never slows a station. A second task prunes the log to its
:class:`~csms.domain.messagelog.Retention` every ``prune_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from csms.domain.errors import StorageError
from csms.domain.messagelog import (
    IN,
    MAX_EXCHANGE_SECONDS,
    OUT,
    LoggedExchange,
    MessageLogRepository,
    Retention,
    StationFrames,
)
from csms.log import MANY_STATIONS, LogLimiter

__all__ = ["FrameTap", "MessageLogRecorder"]

logger = logging.getLogger(__name__)

_WRITE_FAILED: Final = "message log write failed"
_DROPPED: Final = "message log full"
_PRUNE_FAILED: Final = "message log prune failed"

# Frames described between two yields to the event loop (about a millisecond of work).
_DESCRIBE_CHUNK = 256
# How often (seconds) CALLs waiting for an answer are checked for the answer timeout.
_SWEEP_INTERVAL = 1.0

_monotonic = time.monotonic

# (frames, inbound (None: the connection ended), frame, monotonic seconds)
_Entry = tuple[StationFrames, bool | None, str | bytes, float]


class FrameTap:
    """One connection's hook: ``frame(inbound, frame)`` for every frame read or written (bind it
    once: it runs on the stations' path), and ``closed()`` once the connection has ended (its
    CALLs still waiting are written unanswered)."""

    __slots__ = ("_frames", "_recorder")

    def __init__(self, recorder: MessageLogRecorder, frames: StationFrames) -> None:
        self._recorder = recorder
        self._frames = frames

    def frame(self, inbound: bool, frame: str | bytes) -> None:
        """Queue ``frame``, or drop and count it when the queue is full; never waits."""
        recorder = self._recorder
        queue = recorder._queue
        if len(queue) >= recorder._room:
            recorder._drop()
            return
        queue.append((self._frames, inbound, frame, _monotonic()))
        size = len(queue)
        if size in (1, recorder._batch_size):
            recorder._queued(size)

    def closed(self) -> None:
        recorder = self._recorder
        if not recorder._closing:  # closing: the writer closes every connection when it stops
            # Queued even when the queue is full (one entry per connection: still bounded).
            recorder._queue.append((self._frames, None, "", _monotonic()))
            recorder._queued(len(recorder._queue))


class MessageLogRecorder:
    """The queue, the writer and the pruner of the message log (one per process)."""

    def __init__(
        self,
        repository: MessageLogRepository,
        *,
        retention: Retention,
        queue_size: int = 10_000,
        batch_size: int = 5000,
        linger: float = 0.25,
        keep_payloads: bool = True,
        max_payload: int = 65_536,
        answer_timeout: float = 35.0,
        prune_interval: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        log_limiter: LogLimiter | None = None,
    ) -> None:
        if queue_size < 1 or batch_size < 1 or prune_interval <= 0 or answer_timeout <= 0:
            raise ValueError(
                "queue_size, batch_size, answer_timeout and prune_interval must be positive"
            )
        self._repository = repository
        self._retention = retention
        self._queue: collections.deque[_Entry] = collections.deque()
        self._room = queue_size  # 0 once closing: every frame is then dropped
        # A full queue ends the linger too.
        self._batch_size = min(batch_size, queue_size)
        self._linger = linger
        self._keep_payloads = keep_payloads
        self._max_payload = max_payload
        # Capped: the repository's time-window search counts on rows written that soon.
        self._answer_timeout = min(answer_timeout, MAX_EXCHANGE_SECONDS)
        self._prune_interval = prune_interval
        self._clock = clock
        self._limiter = log_limiter if log_limiter is not None else LogLimiter()
        # Connections that sent or were sent a frame and whose end the writer has not seen yet
        # (their CALLs may be waiting): registered by the writer, so a connection that never
        # carried a frame costs nothing.
        self._open: dict[StationFrames, None] = {}
        # Those of them with CALLs waiting, so an idle writer and its answer-timeout sweep visit
        # these, not every connection (issue 11, idle cost).
        self._waiting: dict[StationFrames, None] = {}
        self._next_sweep = 0.0  # monotonic time of the next answer-timeout check
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()  # a batch is ready: stop lingering
        self._writer: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._closing = False
        # Counters for /metrics: frames dropped because the queue was full, rows written, rows
        # (or frames not yet made rows) lost to a failed write, rows pruned.
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self.pruned = 0

    @property
    def queued(self) -> int:
        """Frames waiting to be written."""
        return len(self._queue)

    @property
    def waiting(self) -> int:
        """CALLs the writer has seen that wait for their answer (or their timeout)."""
        return sum(len(frames.pending) for frames in self._waiting)

    def tap(self, station_id: str) -> FrameTap:
        """A new connection's hook (its own CALL/result pairing)."""
        frames = StationFrames(
            station_id, keep_payloads=self._keep_payloads, max_payload=self._max_payload
        )
        return FrameTap(self, frames)

    def _drop(self) -> None:
        """A frame found the queue full (or the recorder closing): count it, warn at 1, 2, 4 ..."""
        self.dropped += 1
        if self.dropped & (self.dropped - 1) == 0:  # 1, 2, 4, 8 ...: a bounded rate
            self._limiter.log(
                logger,
                logging.WARNING,
                MANY_STATIONS,
                _DROPPED,
                "message log queue full: %d frames not logged so far",
                self.dropped,
            )

    def _queued(self, size: int) -> None:
        """The queue holds ``size`` entries: wake the writer, or end its linger."""
        if size == 1:
            self._wakeup.set()
        elif size >= self._batch_size:
            self._full.set()

    async def start(self) -> None:
        """Start the writer and the pruner (idempotent)."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="csms-message-log")
            self._pruner = asyncio.create_task(self._prune_loop(), name="csms-message-log-prune")

    async def aclose(self) -> None:
        """Write what is queued (CALLs still waiting: unanswered), then stop."""
        self._closing = True
        self._room = 0
        self._wakeup.set()
        self._full.set()
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
            self._pruner = None
        if self._writer is not None:
            await self._writer
            self._writer = None

    async def prune(self) -> int:
        """Apply the retention now; return the rows deleted."""
        count = await self._repository.prune(self._retention, self._clock())
        self.pruned += count
        return count

    async def _write_loop(self) -> None:
        queue = self._queue
        while queue or not self._closing:
            if not queue:
                self._wakeup.clear()
                if self._waiting:
                    # Wake up for the answer timeout even if no frame comes.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_SWEEP_INTERVAL):
                            await self._wakeup.wait()
                    if not queue:
                        # Nothing queued: every frame seen so far is older than now.
                        rows: list[LoggedExchange] = []
                        self._sweep(rows, time.monotonic())
                        await self._write(rows)
                        continue
                else:
                    await self._wakeup.wait()
                if not self._closing and len(queue) < self._batch_size:
                    # Gather a quarter second's frames into one write: a few per second ride
                    # in the committer's transactions, instead of one per frame.
                    await self._sleep(self._linger)
                continue
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_size))]
            rows = []
            try:
                await self._describe(batch, rows)
            except Exception:
                self.failed += len(batch)
                logger.exception("message log frames could not be described; skipped")
                continue
            await self._write(rows)
        rows = []
        for frames in self._open:
            frames.close(rows)
        self._open.clear()
        self._waiting.clear()
        await self._write(rows)

    async def _describe(self, batch: list[_Entry], rows: list[LoggedExchange]) -> None:
        """Turn ``batch`` into ``rows``, yielding to the loop every :data:`_DESCRIBE_CHUNK`."""
        # One wall-clock read per batch: a frame's UNIX time is its monotonic time plus this.
        offset = time.time() - time.monotonic()
        open_, waiting = self._open, self._waiting
        for start in range(0, len(batch), _DESCRIBE_CHUNK):
            if start:
                await asyncio.sleep(0)  # never hold the loop for a whole batch
            next_sweep = self._next_sweep
            for frames, inbound, frame, mono in batch[start : start + _DESCRIBE_CHUNK]:
                if mono >= next_sweep:
                    self._sweep(rows, mono)
                    next_sweep = self._next_sweep
                if inbound is None:
                    frames.close(rows)
                    open_.pop(frames, None)
                    waiting.pop(frames, None)
                else:
                    open_[frames] = None
                    frames.describe(rows, IN if inbound else OUT, frame, mono, mono + offset)
                    if frames.pending:
                        waiting[frames] = None
                    else:
                        waiting.pop(frames, None)

    def _sweep(self, rows: list[LoggedExchange], now: float) -> None:
        """Write as unanswered the CALLs that waited longer than the answer timeout by ``now``
        (the time of the frame being described, or the clock when none are queued)."""
        self._next_sweep = now + _SWEEP_INTERVAL
        before = now - self._answer_timeout
        waiting = self._waiting
        for frames in list(waiting):
            if frames.pending:
                frames.expire(rows, before)
            if not frames.pending:
                del waiting[frames]

    async def _write(self, rows: list[LoggedExchange]) -> None:
        if not rows:
            return
        try:
            await self._repository.append(rows)
        except StorageError as exc:
            self.failed += len(rows)
            self._limiter.log(
                logger,
                logging.WARNING,
                MANY_STATIONS,
                _WRITE_FAILED,
                "could not write %d message log rows: %r",
                len(rows),
                exc.__cause__ or exc,
            )
        else:
            self.written += len(rows)

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the batch fills or the recorder closes."""
        self._full.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._full.wait()

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(self._prune_interval)
            try:
                count = await self.prune()
            except StorageError as exc:
                self._limiter.log(
                    logger,
                    logging.WARNING,
                    MANY_STATIONS,
                    _PRUNE_FAILED,
                    "could not prune the message log: %r",
                    exc.__cause__ or exc,
                )
            else:
                if count:
                    logger.info("message log: pruned %d entries", count)
