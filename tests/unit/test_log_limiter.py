"""LogLimiter: a few lines per (station, kind) and interval, a summary, bounded memory."""

from __future__ import annotations

import logging

import pytest

from csms.log import MANY_STATIONS, LogLimiter

LOGGER = logging.getLogger("tests.limiter")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER.name]


def test_burst_then_summary_with_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limiter = LogLimiter(interval=60, burst=3, clock=clock)
    caplog.set_level(logging.INFO, LOGGER.name)
    logged = [
        limiter.log(LOGGER, logging.WARNING, "CP1", "bad frame", "bad frame %d", i)
        for i in range(1000)
    ]
    assert logged[:3] == [True, True, True]
    assert not any(logged[3:])
    assert messages(caplog) == ["bad frame 0", "bad frame 1", "bad frame 2"]
    assert limiter.counters.suppressed == 997

    clock.now += 61  # the next line of any key ends the expired window with a summary
    limiter.log(LOGGER, logging.WARNING, "CP2", "other", "something else")
    lines = messages(caplog)
    assert len(lines) == 5
    assert "bad frame repeated 997 times in the last 61 s" in lines[3]
    assert "last: bad frame 999" in lines[3]
    assert lines[4] == "something else"


def test_keys_are_independent_per_station_and_kind(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter(interval=60, burst=1, clock=Clock())
    caplog.set_level(logging.INFO, LOGGER.name)
    for station in ("A", "B"):
        for kind in ("x", "y"):
            assert limiter.log(LOGGER, logging.INFO, station, kind, "%s %s", station, kind)
            assert not limiter.log(LOGGER, logging.INFO, station, kind, "%s %s", station, kind)
    assert len(messages(caplog)) == 4


def test_a_new_window_logs_again_after_the_interval() -> None:
    clock = Clock()
    limiter = LogLimiter(interval=10, burst=1, clock=clock)
    assert limiter.log(LOGGER, logging.INFO, "A", "k", "one")
    assert not limiter.log(LOGGER, logging.INFO, "A", "k", "two")
    clock.now += 9.9
    assert not limiter.log(LOGGER, logging.INFO, "A", "k", "three")
    clock.now += 0.2
    assert limiter.log(LOGGER, logging.INFO, "A", "k", "four")


def test_flush_writes_the_summary_at_once(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter(interval=60, burst=1, clock=Clock())
    caplog.set_level(logging.INFO, LOGGER.name)
    for _ in range(5):
        limiter.log(LOGGER, logging.INFO, "A", "k", "same")
    limiter.flush("A", ["k", "unused"])
    assert "k repeated 4 times" in messages(caplog)[-1]
    assert len(limiter) == 0


def test_memory_is_bounded_by_max_keys(caplog: pytest.LogCaptureFixture) -> None:
    """A hostile fleet of many identities shares one overflow budget per kind."""
    limiter = LogLimiter(interval=60, burst=2, max_keys=100, clock=Clock())
    caplog.set_level(logging.INFO, LOGGER.name)
    for i in range(100_000):
        limiter.log(LOGGER, logging.WARNING, f"EVIL-{i}", "bad frame", "bad frame")
    assert len(limiter) <= 101
    # 100 identities log one line each, then the overflow key logs its burst for all the others.
    assert len(messages(caplog)) == 100 + 2
    assert not [m for m in messages(caplog) if "repeated" in m]  # nothing expired yet
    limiter.flush(MANY_STATIONS, ["bad frame"])
    assert "repeated 99898 times" in messages(caplog)[-1]
    assert "many stations" in messages(caplog)[-1]


def test_expired_windows_are_dropped() -> None:
    clock = Clock()
    limiter = LogLimiter(interval=1, burst=1, clock=clock)
    for i in range(50):
        limiter.log(LOGGER, logging.INFO, f"S{i}", "k", "x")
    assert len(limiter) == 50
    clock.now += 2
    limiter.log(LOGGER, logging.INFO, "S-new", "k", "x")
    assert len(limiter) == 1


def _storage_error() -> Exception:
    try:
        try:
            raise ConnectionRefusedError("database down")
        except ConnectionRefusedError as cause:
            raise RuntimeError("could not store Heartbeat") from cause
    except RuntimeError as exc:
        return exc


def test_one_traceback_per_error_class_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limiter = LogLimiter(interval=60, burst=5, clock=clock)
    caplog.set_level(logging.INFO, LOGGER.name)
    for i in range(100):  # 100 stations, one failure each
        limiter.log(
            LOGGER, logging.ERROR, f"CP{i}", "storage", "persist failed", exc=_storage_error()
        )
    records = [r for r in caplog.records if r.name == LOGGER.name]
    assert len(records) == 100  # one line per station: each key is within its burst
    assert sum(r.exc_info is not None for r in records) == 1
    later = records[-1].getMessage()
    assert "RuntimeError <- ConnectionRefusedError" in later
    assert "seen 99 times" in later
    assert limiter.counters.tracebacks_suppressed == 99

    other = ValueError("another class")
    limiter.log(LOGGER, logging.ERROR, "CP0", "storage", "persist failed", exc=other)
    assert caplog.records[-1].exc_info is not None  # a new class gets its own traceback

    clock.now += 61
    limiter.log(LOGGER, logging.ERROR, "CP0", "storage", "persist failed", exc=_storage_error())
    assert caplog.records[-1].exc_info is not None  # and a new interval another one


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        LogLimiter(interval=0)
    with pytest.raises(ValueError):
        LogLimiter(burst=0)
    with pytest.raises(ValueError):
        LogLimiter(max_keys=0)
