"""Group commit: many writers, one transaction per batch, each writer answered after the commit.

A handler may acknowledge a station's message only once its change is committed (ocpp-rules §3.3),
and committing each message on its own costs one fsync (SQLite) or one round trip plus WAL flush
(PostgreSQL) per message. So writers :meth:`GroupCommitter.submit` a :class:`~csms.storage.writes.
Write` and await it; one background task takes everything submitted since its last batch (at most
``max_batch`` writes), applies it in one transaction (:func:`~csms.storage.writes.apply_batch`),
commits once, then resolves every writer's future. There is no linger timer: while a batch
commits, the next one fills up, so batches grow with load and latency stays one commit at low load.

Rules:

* A batch that a write failed is retried one write per transaction, so one bad write (e.g. a
  foreign-key violation) never fails the others; each write that still fails gets a chained
  :class:`~csms.domain.errors.StorageError` and is not acknowledged. When the database itself
  fails (locked, unreachable), the batch is retried once as a whole, then every write in it fails
  fast: the stations retry later (ocpp-rules §3.1, §6 test 62) instead of waiting on us.
* :meth:`GroupCommitter.touch` (last seen) is never awaited: times are coalesced per station and
  written with the next batch, or after ``touch_interval`` seconds; losing them is harmless.
* At most ``max_pending`` writes wait at once; further writers wait for room (backpressure), so
  memory stays bounded when the database is slower than the stations. Waiting writers are admitted
  in arrival order as batches finish; the common case (room) costs one length check, no lock.
* :meth:`GroupCommitter.aclose` stops taking writes and returns once everything pending is
  committed (or has failed).
* On a SQLite file the batch is applied on a dedicated writer thread with a synchronous
  connection, one hop per batch instead of several per statement (:mod:`csms.storage.
  sqlite_writer`); everything above is the same on both paths.
* On PostgreSQL the committer keeps its pooled connection while batches keep coming and gives
  it back after ``HOLD_IDLE_S`` without one (at once when no other base connection of the pool
  is free, so that a small pool still serves the reads): a checkout costs the pool's pre-ping
  (``BEGIN``, a query, ``ROLLBACK``: three round trips) per batch otherwise. A connection that failed a batch
  is never reused: the retry of an unavailable database (above) takes a fresh, pinged one, so
  a server restart under load costs the one attempt it cost before.
* Errors are logged through the process's :class:`~csms.log.LogLimiter` (per kind, not per batch):
  an outage or a full disk logs a few lines per interval and a "repeated N times" summary.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.domain.errors import StorageError
from csms.domain.metrics import COMMIT_BUCKETS, Histogram
from csms.log import MANY_STATIONS, LogLimiter
from csms.storage.engine import write_transaction, writers
from csms.storage.sqlite_writer import SqliteWriter
from csms.storage.writes import Write, apply_batch

__all__ = ["GroupCommitter"]

logger = logging.getLogger(__name__)

R = TypeVar("R")

# Log kinds (LogLimiter keys, shared by every station: a batch mixes them).
_UNAVAILABLE = "database unavailable"
_BATCH_FAILED = "batch failed"
_WRITE_REFUSED = "write refused"
_TOUCHES_DROPPED = "last-seen times dropped"
# Seconds the committer keeps its connection (PostgreSQL) after a batch, for the next one.
HOLD_IDLE_S = 1.0


# A submitted write and the future its writer awaits.
_Pending = tuple[Write[object], asyncio.Future[object]]


class GroupCommitter:
    """Serialise writes into batched transactions; see the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 1000,
        max_pending: int = 10_000,
        touch_interval: float = 1.0,
        log_limiter: LogLimiter | None = None,
        sqlite_writer_thread: bool = True,
    ) -> None:
        if max_batch < 1 or max_pending < max_batch:
            raise ValueError("need 1 <= max_batch <= max_pending")
        self._limiter = log_limiter if log_limiter is not None else LogLimiter()
        self._writers = writers(engine)
        self._sqlite = SqliteWriter.for_engine(engine) if sqlite_writer_thread else None
        # The connection kept between batches (PostgreSQL only) and when it was last used.
        self._hold = engine.dialect.name != "sqlite"
        self._held: AsyncConnection | None = None
        self._held_used = 0.0
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._touch_interval = touch_interval
        self._queue: collections.deque[_Pending] = collections.deque()
        self._inflight: list[_Pending] = []
        # Writers that found max_pending writes waiting: admitted, in order, as batches finish.
        self._waiting: collections.deque[_Pending] = collections.deque()
        self._touches: dict[str, datetime] = {}
        self._touch_deadline: float | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._accepting = False  # started, not closing, task alive: submit() takes writes
        self._closing = False
        # Seconds per batch transaction (BEGIN to COMMIT), for /metrics.
        self.commit_latency = Histogram(COMMIT_BUCKETS)

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`aclose` (and while the task is alive)."""
        return self._accepting

    @property
    def pending(self) -> int:
        """Writes queued or being committed (at most ``max_pending``): the storage backlog."""
        return len(self._queue) + len(self._inflight)

    async def start(self) -> None:
        """Start the background task (idempotent)."""
        if self._closing:
            raise RuntimeError("a closed GroupCommitter cannot be restarted")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="csms-storage-group-commit")
            self._task.add_done_callback(self._stopped)
            self._accepting = True

    def _stopped(self, _task: asyncio.Task[None]) -> None:
        self._accepting = False
        self._refuse_waiting()

    async def aclose(self) -> None:
        """Refuse new writes, commit everything pending (touches too), and stop."""
        self._closing = True
        self._accepting = False
        self._refuse_waiting()  # never admitted: not acknowledged, the stations retry
        self._wakeup.set()
        try:
            if self._task is not None:
                await self._task
        finally:
            if self._sqlite is not None:
                await asyncio.to_thread(self._sqlite.close)

    async def submit(self, write: Write[R]) -> R:
        """Queue ``write`` and return its result once it is committed.

        Raises:
            StorageError: the write could not be committed, or the committer is not running.
        """
        if not self._accepting:
            raise StorageError("storage is not running")
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        queue = self._queue
        if self._waiting or len(queue) + len(self._inflight) >= self._max_pending:
            self._waiting.append((write, future))  # backpressure: admitted when there is room
        else:
            queue.append((write, future))
            self._wakeup.set()
        return await future  # type: ignore[return-value]  # the result of a Write[R] is an R

    def _admit_waiting(self) -> None:
        """Move waiting writers into the queue while there is room (between batches)."""
        waiting, queue = self._waiting, self._queue
        room = self._max_pending - len(queue) - len(self._inflight)
        while waiting and room > 0:
            pending = waiting.popleft()
            if not pending[1].done():  # a writer cancelled while waiting never gets its write in
                queue.append(pending)
                room -= 1

    def _refuse_waiting(self) -> None:
        while self._waiting:
            self._settle(self._waiting.popleft(), error=StorageError("storage is not running"))

    def touch(self, station_id: str, now: datetime) -> None:
        """Note that ``station_id`` was seen at ``now``; written later, never awaited."""
        if self._closing:
            return
        previous = self._touches.get(station_id)
        if previous is None or now > previous:
            self._touches[station_id] = now
        if self._touch_deadline is None and self._task is not None:
            self._touch_deadline = asyncio.get_running_loop().time() + self._touch_interval
            self._wakeup.set()

    async def _run(self) -> None:
        try:
            while self._queue or self._touches or not self._closing:
                if not self._queue and not self._touches_due():
                    if self._held is not None and self._hold_expired():
                        await self._release()
                    await self._sleep()
                    continue
                queue = self._queue
                if len(queue) <= self._max_batch:
                    self._inflight = list(queue)
                    queue.clear()
                else:
                    self._inflight = [queue.popleft() for _ in range(self._max_batch)]
                touches, self._touches, self._touch_deadline = self._touches, {}, None
                await self._commit(self._inflight, touches)
                self._inflight = []
                if self._waiting:
                    self._admit_waiting()
        except Exception:
            logger.exception("the group committer stopped on a bug; writes now fail")
            raise
        finally:
            with contextlib.suppress(BaseException):  # back to the pool before it is disposed
                await self._release()
            # Only reached with work left if the task was cancelled: the outcome is unknown.
            for pending in [*self._inflight, *self._queue]:
                self._settle(pending, error=StorageError("storage stopped; outcome unknown"))
            self._queue.clear()
            self._refuse_waiting()

    def _touches_due(self) -> bool:
        if not self._touches:
            return False
        deadline = self._touch_deadline
        return self._closing or deadline is None or asyncio.get_running_loop().time() >= deadline

    async def _sleep(self) -> None:
        self._wakeup.clear()
        if self._queue or self._closing:
            return
        timeout = None
        now = asyncio.get_running_loop().time()
        if self._touch_deadline is not None:
            timeout = max(0.0, self._touch_deadline - now)
        if self._held is not None:  # wake up to give the connection back
            release_in = max(0.0, self._held_used + HOLD_IDLE_S - now)
            timeout = release_in if timeout is None else min(timeout, release_in)
        try:
            async with asyncio.timeout(timeout):
                await self._wakeup.wait()
        except TimeoutError:
            pass

    async def _commit(self, batch: list[_Pending], touches: dict[str, datetime]) -> None:
        writes = [write for write, _ in batch]
        for attempt in (1, 2):
            try:
                results = await self._transaction(writes, touches)
            except Exception as exc:
                if not _unavailable(exc):
                    await self._retry_each(batch, touches, exc)
                    return
                if attempt == 2:
                    self._log(
                        logging.ERROR,
                        _UNAVAILABLE,
                        "database unavailable; %d writes not stored: %r",
                        len(batch),
                        exc,
                    )
                    self._fail_all(batch, touches, exc)
                    return
                self._log(
                    logging.WARNING,
                    _UNAVAILABLE,
                    "database unavailable; retrying a batch of %d: %r",
                    len(batch),
                    exc,
                )
            else:
                for pending, result in zip(batch, results, strict=True):
                    self._settle(pending, result)
                return

    async def _retry_each(
        self, batch: list[_Pending], touches: dict[str, datetime], cause: Exception
    ) -> None:
        """Isolate the write(s) that failed the batch by halving it (bisection).

        One transaction per write would cost one fsync each: under load (a batch of 1,000 with one
        duplicate AddStation from a station that retried its handshake) that stalled every writer
        for seconds and fed a retry spiral. Halving needs about 2·log2(n) transactions per bad write.
        """
        if len(batch) + bool(touches) > 1:
            self._log(
                logging.WARNING,
                _BATCH_FAILED,
                "batch of %d writes failed, isolating the bad ones: %r",
                len(batch),
                cause,
            )
        gone = await self._bisect(batch, known_bad=True)
        if gone is not None:
            self._fail_all([], touches, gone)
            return
        if touches:
            try:
                await self._transaction([], touches)
            except Exception as exc:
                self._log(
                    logging.WARNING,
                    _TOUCHES_DROPPED,
                    "dropped %d last-seen times: %r",
                    len(touches),
                    exc,
                )

    async def _bisect(self, batch: list[_Pending], *, known_bad: bool = False) -> Exception | None:
        """Commit ``batch``, halving it around the writes that fail. Returns the error if the
        database went away (every write of ``batch`` not yet settled has then failed), else None."""
        if not known_bad:
            try:
                results = await self._transaction([write for write, _ in batch], {})
            except Exception as exc:
                if _unavailable(exc):  # do not wait on a database that went away, per write
                    self._fail_all(batch, {}, exc)
                    return exc
                if len(batch) == 1:
                    self._log(
                        logging.ERROR,
                        _WRITE_REFUSED,
                        "could not store %s: %r",
                        type(batch[0][0]).__name__,
                        exc,
                    )
                    self._settle(batch[0], error=_storage_error(batch[0][0], exc))
                    return None
            else:
                for pending, result in zip(batch, results, strict=True):
                    self._settle(pending, result)
                return None
        if len(batch) == 1:  # failed together with the touches: try it alone
            return await self._bisect(batch)
        middle = len(batch) // 2
        gone = await self._bisect(batch[:middle])
        if gone is not None:
            self._fail_all(batch[middle:], {}, gone)
            return gone
        return await self._bisect(batch[middle:])

    def _fail_all(
        self, batch: list[_Pending], touches: dict[str, datetime], cause: Exception
    ) -> None:
        for pending in batch:
            self._settle(pending, error=_storage_error(pending[0], cause))
        if touches:
            self._log(
                logging.WARNING,
                _TOUCHES_DROPPED,
                "dropped %d last-seen times: %r",
                len(touches),
                cause,
            )

    def _log(self, level: int, kind: str, msg: str, *args: object) -> None:
        self._limiter.log(logger, level, MANY_STATIONS, kind, msg, *args)

    async def _transaction(
        self, writes: list[Write[object]], touches: dict[str, datetime]
    ) -> list[object]:
        started = time.perf_counter()
        if self._sqlite is not None:
            results = await self._sqlite.apply(writes, touches)
        elif self._hold:
            conn = self._held or await self._writers.connect()  # the pool pings a new checkout
            self._held = None
            try:
                async with conn.begin():
                    results = await apply_batch(conn, writes, touches)
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.close()  # failed once: never reused (invalidated if it broke)
                raise
            if self._pool_has_room():
                self._held, self._held_used = conn, asyncio.get_running_loop().time()
            else:
                await conn.close()
        else:
            async with write_transaction(self._writers) as conn:
                results = await apply_batch(conn, writes, touches)
        self.commit_latency.observe(time.perf_counter() - started)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("committed %d writes and %d touches", len(writes), len(touches))
        return results

    def _pool_has_room(self) -> bool:
        """Keep the connection only while another of the pool's base connections is free: in a
        small pool (the handshake's station reader keeps one too) a kept one starved every other
        read, and handshakes ran into their deadline (CSMS_DATABASE_POOL_SIZE 2 under a burst)."""
        pool = self._writers.sync_engine.pool
        size, checked_out = getattr(pool, "size", None), getattr(pool, "checkedout", None)
        if not callable(size) or not callable(checked_out):
            return False
        return bool(checked_out() < size())

    def _hold_expired(self) -> bool:
        return asyncio.get_running_loop().time() - self._held_used >= HOLD_IDLE_S

    async def _release(self) -> None:
        """Give the kept connection back to the pool."""
        conn, self._held = self._held, None
        if conn is not None:
            await conn.close()

    @staticmethod
    def _settle(
        pending: _Pending, result: object = None, *, error: StorageError | None = None
    ) -> None:
        future = pending[1]
        if future.done():  # the writer was cancelled; the write stands
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


def _unavailable(exc: Exception) -> bool:
    """Tell whether ``exc`` is the database failing (locked, unreachable, connection lost) rather
    than one write being refused (constraint, bad value): retrying writes one by one only helps
    with the latter."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | OSError)


def _storage_error(write: Write[object], cause: Exception) -> StorageError:
    # The cause's text may hold SQL; it stays on __cause__ (parameters are hidden by the engine).
    error = StorageError(f"could not store {type(write).__name__}")
    error.__cause__ = cause
    return error
