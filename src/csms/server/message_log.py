"""Records every OCPP frame in the message log, off the stations' hot path.

A connection's :class:`FrameTap` only appends ``(frames, direction, frame, monotonic, wall time)``
to one bounded queue: no parsing, no I/O, never a wait. One task drains it: after the first frame
it lingers up to ``linger`` seconds (or until ``batch_size`` frames wait), describes each frame
(:class:`~csms.domain.messagelog.StationFrames`: read its head, pair it with its CALL, mask
secrets) and hands them to the repository as one batch (one ``executemany`` in the group
committer's next transaction, ``csms.storage.messagelog``). When the queue is full
(the database is slower than the stations) new frames are dropped and counted (``dropped``, shown
by ``/metrics``), so a slow log never slows a station. A second task prunes the log to its
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
from csms.domain.messagelog import IN, OUT, MessageLogRepository, Retention, StationFrames
from csms.log import MANY_STATIONS, LogLimiter

__all__ = ["FrameTap", "MessageLogRecorder"]

logger = logging.getLogger(__name__)

_WRITE_FAILED: Final = "message log write failed"
_DROPPED: Final = "message log full"
_PRUNE_FAILED: Final = "message log prune failed"

# Frames described between two yields to the event loop (about a millisecond of work).
_DESCRIBE_CHUNK = 256

# (frames, direction, frame, monotonic seconds, UNIX time)
_Entry = tuple[StationFrames, str, str | bytes, float, float]


class FrameTap:
    """One connection's hook: ``tap(inbound, frame)`` for every frame read or written."""

    __slots__ = ("_frames", "_recorder")

    def __init__(self, recorder: MessageLogRecorder, frames: StationFrames) -> None:
        self._recorder = recorder
        self._frames = frames

    def __call__(self, inbound: bool, frame: str | bytes) -> None:
        self._recorder.put(
            (self._frames, IN if inbound else OUT, frame, time.monotonic(), time.time())
        )


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
        prune_interval: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        log_limiter: LogLimiter | None = None,
    ) -> None:
        if queue_size < 1 or batch_size < 1 or prune_interval <= 0:
            raise ValueError("queue_size, batch_size and prune_interval must be positive")
        self._repository = repository
        self._retention = retention
        self._queue: collections.deque[_Entry] = collections.deque()
        self._queue_size = queue_size
        # A full queue ends the linger too.
        self._batch_size = min(batch_size, queue_size)
        self._linger = linger
        self._keep_payloads = keep_payloads
        self._max_payload = max_payload
        self._prune_interval = prune_interval
        self._clock = clock
        self._limiter = log_limiter if log_limiter is not None else LogLimiter()
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()  # a batch is ready: stop lingering
        self._writer: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._closing = False
        # Counters for /metrics: frames dropped because the queue was full, entries written,
        # entries lost to a failed write, entries pruned.
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self.pruned = 0

    @property
    def queued(self) -> int:
        """Frames waiting to be written."""
        return len(self._queue)

    def tap(self, station_id: str) -> FrameTap:
        """A new connection's hook (its own CALL/result pairing)."""
        frames = StationFrames(
            station_id, keep_payloads=self._keep_payloads, max_payload=self._max_payload
        )
        return FrameTap(self, frames)

    def put(self, entry: _Entry) -> None:
        """Queue a frame, or drop and count it when the queue is full; never waits."""
        queue = self._queue
        if len(queue) >= self._queue_size or self._closing:
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
            return
        queue.append(entry)
        size = len(queue)
        if size == 1:
            self._wakeup.set()
        elif size == self._batch_size:
            self._full.set()

    async def start(self) -> None:
        """Start the writer and the pruner (idempotent)."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="csms-message-log")
            self._pruner = asyncio.create_task(self._prune_loop(), name="csms-message-log-prune")

    async def aclose(self) -> None:
        """Write what is queued, then stop."""
        self._closing = True
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
        """Apply the retention now; return the entries deleted."""
        count = await self._repository.prune(self._retention, self._clock())
        self.pruned += count
        return count

    async def _write_loop(self) -> None:
        queue = self._queue
        while queue or not self._closing:
            if not queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                if not self._closing and len(queue) < self._batch_size:
                    # Gather a quarter second's frames into one write: a few per second ride
                    # in the committer's transactions, instead of one per frame.
                    await self._sleep(self._linger)
                continue
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_size))]
            try:
                rows = []
                for start in range(0, len(batch), _DESCRIBE_CHUNK):
                    if start:
                        await asyncio.sleep(0)  # never hold the loop for a whole batch
                    rows += [
                        frames.describe(direction, frame, mono, wall)
                        for frames, direction, frame, mono, wall in batch[
                            start : start + _DESCRIBE_CHUNK
                        ]
                    ]
                await self._repository.append(rows)
            except StorageError as exc:
                self.failed += len(batch)
                self._limiter.log(
                    logger,
                    logging.WARNING,
                    MANY_STATIONS,
                    _WRITE_FAILED,
                    "could not write %d message log entries: %r",
                    len(batch),
                    exc.__cause__ or exc,
                )
            except Exception:
                self.failed += len(batch)
                logger.exception("message log entries could not be described; skipped")
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
