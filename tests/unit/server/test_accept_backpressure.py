"""Handshake admission, backpressure before accept (issue 11 item 5): when accept() waits, the
station-read queue as saturation, the pool per process and the worker stop timeout, sans I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import NullPool, QueuePool

from csms.cli import _apply_serve_flags, build_parser
from csms.config import SettingsError, load_settings
from csms.server.limits import ConnectionLimits, Ticket
from csms.server.saturation import HandshakeShedder, LoopLag, pending_handshakes_bound
from csms.storage.engine import create_engine


def test_accept_pauses_at_the_pending_bound_and_resumes_below_it() -> None:
    shedder = HandshakeShedder(max_handshakes=20, max_loop_lag=0, retry_after=5, max_pending=40)
    assert shedder.pause_reason(serving=0, reading=0, pending=39) is None
    reason = shedder.pause_reason(serving=0, reading=0, pending=40)
    assert reason == (
        "40 connections accepted and not yet upgraded (CSMS_MAX_PENDING_HANDSHAKES 40)"
    )
    assert shedder.pause_reason(serving=19, reading=0, pending=39) is None  # resumed
    assert shedder.shed_total == 0  # a pause answers nobody: nothing is shed


def test_accept_pauses_while_saturated() -> None:
    shedder = HandshakeShedder(
        max_handshakes=20, max_loop_lag=0, retry_after=5, max_reads=8, max_pending=1000
    )
    at_limit = shedder.pause_reason(serving=20, reading=0, pending=20)
    assert at_limit is not None and "CSMS_MAX_HANDSHAKES 20" in at_limit
    reads = shedder.pause_reason(serving=10, reading=8, pending=10)
    assert reads == "8 handshakes waiting in the station read (CSMS_MAX_HANDSHAKE_READS 8)"
    assert shedder.pause_reason(serving=10, reading=7, pending=10) is None


def test_accept_pauses_while_the_loop_lags_and_resumes_when_it_catches_up() -> None:
    now = [100.0]
    lag = LoopLag(0.1, clock=lambda: now[0])
    shedder = HandshakeShedder(max_handshakes=0, max_loop_lag=1.0, retry_after=5, lag=lag)
    lag._previous = lag._last = 1.5  # two ticks late: the loop stays behind
    reason = shedder.pause_reason(serving=0, reading=0, pending=0)
    assert reason is not None and "CSMS_MAX_LOOP_LAG 1" in reason
    lag._last = 0.0  # caught up
    assert shedder.pause_reason(serving=0, reading=0, pending=0) is None


def test_station_read_queue_is_saturation_for_the_handshake_too() -> None:
    shedder = HandshakeShedder(max_handshakes=0, max_loop_lag=0, retry_after=5, max_reads=3)
    assert shedder.judge(100, reading=2) is None
    judged = shedder.judge(100, reading=3)
    assert judged is not None and "station read" in judged[1]
    assert HandshakeShedder(max_handshakes=0, max_loop_lag=0, retry_after=5).judge(9, 99) is None


def test_the_pending_bound_is_derived_from_the_handshake_budget() -> None:
    assert pending_handshakes_bound(0, 500) == 1000
    assert pending_handshakes_bound(0, 72) == 144  # a worker's share of the host's budget
    assert pending_handshakes_bound(300, 500) == 300
    assert pending_handshakes_bound(0, 0) == 0  # neither set: no bound


def test_limits_count_station_reads_and_call_back_when_a_slot_frees_up() -> None:
    limits = ConnectionLimits(10, 10)
    freed: list[None] = []
    limits.on_free = lambda: freed.append(None)
    ticket = limits.admit("192.0.2.1")
    assert isinstance(ticket, Ticket) and limits.in_handshake == 1
    limits.start_work(ticket)
    limits.start_read(ticket)
    limits.start_read(ticket)  # once
    assert (limits.working, limits.reading, limits.load().reading) == (1, 1, 1)
    limits.end_read(ticket)
    assert limits.reading == 0 and len(freed) == 1
    limits.start_read(ticket)
    limits.end_work(ticket)  # checks over (a failed read included): the read ends too
    assert (limits.working, limits.reading) == (0, 0)
    limits.handshake_done(ticket)
    assert limits.in_handshake == 0 and len(freed) >= 3
    assert limits.load(paused="why").accepting_paused == "why"


def test_settings_and_flags() -> None:
    settings = load_settings({})
    assert (settings.server.max_pending_handshakes, settings.server.max_handshake_reads) == (0, 32)
    assert settings.server.worker_stop_timeout == 60.0
    db = settings.database
    assert db.pool() == (None, None, None)  # the engine's defaults
    env = {
        "CSMS_MAX_PENDING_HANDSHAKES": "300",
        "CSMS_MAX_HANDSHAKE_READS": "0",
        "CSMS_DATABASE_POOL_SIZE": "4",
        "CSMS_DATABASE_MAX_OVERFLOW": "0",
        "CSMS_DATABASE_POOL_TIMEOUT": "5",
        "CSMS_WORKER_STOP_TIMEOUT": "120",
    }
    settings = load_settings(env)
    assert (settings.server.max_pending_handshakes, settings.server.max_handshake_reads) == (300, 0)
    db = settings.database
    assert db.pool() == (4, 0, 5.0)
    assert settings.server.worker_stop_timeout == 120.0
    for name, value in (
        ("CSMS_MAX_PENDING_HANDSHAKES", "-1"),
        ("CSMS_MAX_HANDSHAKE_READS", "-1"),
        ("CSMS_DATABASE_POOL_SIZE", "-1"),
        ("CSMS_DATABASE_MAX_OVERFLOW", "-2"),
        ("CSMS_DATABASE_POOL_TIMEOUT", "-1"),
        ("CSMS_WORKER_STOP_TIMEOUT", "0"),
    ):
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value})
    argv = ["serve", "--max-pending-handshakes", "64", "--max-handshake-reads", "16"]
    argv += ["--database-pool-size", "3"]
    settings = _apply_serve_flags(load_settings({}), build_parser().parse_args(argv))
    assert (settings.server.max_pending_handshakes, settings.server.max_handshake_reads) == (64, 16)
    assert settings.database.pool_size == 3


async def test_the_pool_is_sized_per_process(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://csms@127.0.0.1:1/csms"  # never connected to
    default = create_engine(url)
    sized = create_engine(url, pool_size=3, max_overflow=1, pool_timeout=2.5)
    sqlite = create_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    sqlite_sized = create_engine(f"sqlite+aiosqlite:///{tmp_path}/b.db", pool_size=2)
    migrations = create_engine(url, poolclass=NullPool, pool_size=3)
    try:
        for engine, size, overflow, timeout in (
            (default, 5, 10, 30.0),
            (sized, 3, 1, 2.5),
            (sqlite, 8, 0, 60.0),
            (sqlite_sized, 2, 0, 60.0),
        ):
            pool = engine.sync_engine.pool
            assert isinstance(pool, QueuePool)
            assert (pool.size(), pool._max_overflow, pool.timeout()) == (size, overflow, timeout)
        assert isinstance(migrations.sync_engine.pool, NullPool)  # sizing ignored there
    finally:
        for engine in (default, sized, sqlite, sqlite_sized, migrations):
            await engine.dispose()


def test_accept_takes_no_more_unread_connections_than_there_are_free_slots() -> None:
    """Any more would find the process saturated once read, and be answered 503 for nothing."""
    shedder = HandshakeShedder(max_handshakes=20, max_loop_lag=0, retry_after=5, max_pending=40)
    assert shedder.pause_reason(serving=15, reading=0, pending=19, unread=4) is None
    reason = shedder.pause_reason(serving=15, reading=0, pending=20, unread=5)
    assert reason == "5 connections accepted and not read yet, 5 handshake slots free"
    assert shedder.pause_reason(serving=0, reading=0, pending=5, unread=0) is None
    # The station-read budget bounds them too: 30 of 32 reads taken leaves 2 slots.
    reads = HandshakeShedder(max_handshakes=500, max_loop_lag=0, retry_after=5, max_reads=32)
    assert reads.pause_reason(serving=40, reading=30, pending=41, unread=1) is None
    reason = reads.pause_reason(serving=40, reading=30, pending=42, unread=2)
    assert reason == "2 connections accepted and not read yet, 2 handshake slots free"
    off = HandshakeShedder(max_handshakes=0, max_loop_lag=0, retry_after=5)
    assert off.pause_reason(serving=0, reading=0, pending=10_000, unread=10_000) is None


def test_a_read_request_frees_the_acceptor() -> None:
    limits = ConnectionLimits(10, 10)
    freed: list[None] = []
    limits.on_free = lambda: freed.append(None)
    ticket = limits.admit("192.0.2.1")
    assert isinstance(ticket, Ticket) and not ticket.read
    limits.request_read(ticket)
    limits.request_read(ticket)  # once
    assert ticket.read and len(freed) == 1


def test_unread_connections_are_counted_not_scanned() -> None:
    """The acceptor's "accepted and not read yet" is a count kept by the limits (the scan it
    replaced was O(burst) per accept: 6 % of a reconnect benchmark's event-loop samples)."""
    limits = ConnectionLimits(10, 10)
    tickets = [limits.admit(f"192.0.2.{i}") for i in range(4)]
    assert all(isinstance(t, Ticket) for t in tickets)
    a, b, c, d = (t for t in tickets if isinstance(t, Ticket))
    for ticket in (a, b, c, d):
        limits.count_unread(ticket)
    limits.count_unread(a)  # once per ticket
    assert limits.unread_recent == 4
    limits.request_read(a)  # its request was read
    limits.handshake_done(b)  # refused or upgraded
    limits.release(c)  # closed
    assert limits.unread_recent == 1
    limits.forget_unread(d)  # past the acceptor's grace
    limits.forget_unread(d)
    assert limits.unread_recent == 0
    limits.request_read(d)
    assert limits.unread_recent == 0
