"""Handshake admission under load (issue 11): answer 503 with Retry-After while the process is
saturated, so a reconnect storm spreads instead of timing out.

In a storm every accepted handshake costs CPU (HTTP parsing, the station read, authentication, the
"online" write) whether or not it finishes in time. Taken all at once, they queue in the event loop
past the handshake timeout (CSMS_OPEN_TIMEOUT) and the stations' own: the CPU is spent, the upgrade
is cut, and each station retries, multiplying the load (docs/performance.md, "Reconnect storm").
So each handshake is judged once its HTTP request has been read, from two signals:

* handshakes being checked (request read; station read, authentication, registration or the
  duplicate probe not finished) at CSMS_MAX_HANDSHAKES: the backlog one process works off well
  within the timeout. A client that has sent nothing, or is slow to take its answer, costs no
  CPU and is not counted, so slow or silent sockets cannot make csms refuse everyone (they are
  bounded by CSMS_MAX_CONNECTIONS, CSMS_MAX_HANDSHAKES_PER_ADDRESS and CSMS_OPEN_TIMEOUT);
* the event loop's lag (how late a 100 ms timer fires, twice in a row) above CSMS_MAX_LOOP_LAG:
  the process is behind, whatever the cause (a storm, a burst of traffic).

A handshake judged saturated is answered ``503 Service Unavailable`` with ``Retry-After``
(RFC 9110 §15.6.4, §10.2.3), randomised between CSMS_SHED_RETRY_AFTER and twice that so the
retries do not come back together, before any storage is touched: no station read, no
authentication, no write. Stations that honour it come back later; the others retry with their
own back-off (2.0.1 OCPPCommCtrlr RetryBackOff*), either way without timing out on a busy server.

A third signal: handshakes waiting in the station read (for one of the pooled database connections,
or in the read itself) at CSMS_MAX_HANDSHAKE_READS. A pool queue that grows is the first sign of
the convoy seen at 30,000-100,000 stations (docs/performance.md, "Scale-out"): reads and the group
committer time out on the pool and nothing completes.

A 503 still costs an accept, an HTTP exchange and the station's retry. So while saturated, or while
CSMS_MAX_PENDING_HANDSHAKES connections are accepted but not yet upgraded, the acceptor stops
calling accept() (:meth:`HandshakeShedder.pause_reason`): new connections wait in the kernel's
listen backlog (CSMS_LISTEN_BACKLOG), where they cost no CPU and their 10 s handshake deadline has
not started, and are taken as soon as the signal clears.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

LAG_INTERVAL = 0.1  # seconds between two ticks of the lag timer


def pending_handshakes_bound(max_pending: int, max_handshakes: int) -> int:
    """Connections accepted and not yet upgraded at which accept() waits: CSMS_MAX_PENDING_HANDSHAKES,
    or (0) twice CSMS_MAX_HANDSHAKES, enough to keep the checks busy while the next requests are
    read; 0 (no bound) when neither is set."""
    return max_pending if max_pending > 0 else 2 * max_handshakes


class LoopLag:
    """How late the event loop runs its timers: a tick every ``interval`` seconds measures it.

    ``lag()`` is the smaller lateness of the last two ticks: a loop that stays behind makes every
    tick late, while one long pause (start-up work, a full garbage collection) makes one tick late
    and is over by the time it is measured, so it sheds nothing.
    """

    def __init__(
        self, interval: float = LAG_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._last = self._previous = 0.0
        self._due = clock() + interval
        self._handle: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start ticking on ``loop`` (once)."""
        if self._handle is None:
            self._due = self._clock() + self._interval
            self._handle = loop.call_later(self._interval, self._tick, loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = self._clock()
        self._previous, self._last = self._last, max(0.0, now - self._due)
        self._due = now + self._interval
        self._handle = loop.call_later(self._interval, self._tick, loop)

    def lag(self) -> float:
        """Seconds the loop has stayed behind its timers."""
        return min(self._last, self._previous)


class HandshakeShedder:
    """Judges each accepted connection: served, or answered 503 with a Retry-After.

    ``max_handshakes``, ``max_loop_lag``, ``max_reads`` and ``max_pending`` 0 turn their signal
    off.
    """

    def __init__(
        self,
        *,
        max_handshakes: int,
        max_loop_lag: float,
        retry_after: int,
        max_reads: int = 0,
        max_pending: int = 0,
        lag: LoopLag | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.max_handshakes = max_handshakes
        self.max_loop_lag = max_loop_lag
        self.max_reads = max_reads
        self.max_pending = max_pending
        self._retry_after = retry_after
        self.lag = lag if lag is not None else (LoopLag() if max_loop_lag > 0 else None)
        self._rng = rng
        self.shed_total = 0

    def saturation(self, serving: int, reading: int = 0) -> str | None:
        """Why the process is saturated with ``serving`` handshakes being checked, ``reading`` of
        them in the station read; None if it is not."""
        if self.max_handshakes and serving >= self.max_handshakes:
            return f"{serving} handshakes in progress (CSMS_MAX_HANDSHAKES {self.max_handshakes})"
        if self.max_reads and reading >= self.max_reads:
            return (
                f"{reading} handshakes waiting in the station read "
                f"(CSMS_MAX_HANDSHAKE_READS {self.max_reads})"
            )
        if self.lag is not None and (lag := self.lag.lag()) > self.max_loop_lag:
            return f"event loop {lag:.2f} s behind (CSMS_MAX_LOOP_LAG {self.max_loop_lag:g})"
        return None

    def pause_reason(self, serving: int, reading: int, pending: int, unread: int = 0) -> str | None:
        """Why accept() should wait (connections stay in the kernel's backlog): saturated;
        ``pending`` connections accepted but not upgraded yet at CSMS_MAX_PENDING_HANDSHAKES; or
        as many just accepted whose request is not read yet (``unread``) as there are handshake
        slots free (handshakes and station reads), since any more would find the process
        saturated and get 503. None to accept.
        """
        if self.max_pending and pending >= self.max_pending:
            return (
                f"{pending} connections accepted and not yet upgraded "
                f"(CSMS_MAX_PENDING_HANDSHAKES {self.max_pending})"
            )
        if unread and unread >= (free := self._free(serving, reading)):
            return f"{unread} connections accepted and not read yet, {free} handshake slots free"
        return self.saturation(serving, reading)

    def _free(self, serving: int, reading: int) -> int:
        """Handshakes that may still start (the smaller of the two budgets); a large number
        when neither is set."""
        free = 1 << 30
        if self.max_handshakes:
            free = self.max_handshakes - serving
        if self.max_reads:
            free = min(free, self.max_reads - reading)
        return max(free, 0)

    def judge(self, serving: int, reading: int = 0) -> tuple[int, str] | None:
        """None to serve a new handshake while ``serving`` are in progress (``reading`` of them in
        the station read); else the Retry-After seconds and the reason to answer 503."""
        if (reason := self.saturation(serving, reading)) is None:
            return None
        self.shed_total += 1
        return self._retry_after + int(self._rng() * (self._retry_after + 1)), reason
