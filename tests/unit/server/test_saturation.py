"""Handshake admission under load (issue 11): the saturation signals, sans I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import SettingsError, load_settings
from csms.server.limits import ConnectionLimits, Ticket
from csms.server.saturation import HandshakeShedder, LoopLag


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Timers:
    """Stands in for the event loop's call_later: the callback is run by the test."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[..., None], tuple[Any, ...]]] = []

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> Any:
        self.pending.append((delay, callback, args))
        return self

    def cancel(self) -> None:
        self.pending.clear()

    def fire(self) -> None:
        _, callback, args = self.pending.pop(0)
        callback(*args)


def test_loop_lag_counts_a_loop_that_stays_behind_not_one_pause() -> None:
    clock, timers = Clock(), Timers()
    lag = LoopLag(0.1, clock=clock)
    lag.start(timers)  # type: ignore[arg-type]
    assert lag.lag() == 0.0
    clock.now += 0.1  # on time
    timers.fire()
    assert lag.lag() == pytest.approx(0.0)
    clock.now += 2.6  # one long pause (start-up work, a full collection): one tick 2.5 s late
    timers.fire()
    assert lag.lag() == pytest.approx(0.0)
    clock.now += 1.6  # and another: the loop stays behind
    timers.fire()
    assert lag.lag() == pytest.approx(1.5)
    clock.now += 0.1  # caught up
    timers.fire()
    assert lag.lag() == pytest.approx(0.0)
    lag.stop()
    assert timers.pending == []


def test_the_shedder_refuses_at_the_handshake_limit_with_a_spread_retry_after() -> None:
    draws = iter([0.0, 0.99])
    shedder = HandshakeShedder(
        max_handshakes=3, max_loop_lag=0, retry_after=5, rng=lambda: next(draws)
    )
    assert shedder.lag is None
    assert shedder.judge(2) is None
    low, high = shedder.judge(3), shedder.judge(10)
    assert low is not None and high is not None
    assert (low[0], high[0]) == (5, 10)  # Retry-After between the setting and twice it
    assert "3 handshakes in progress (CSMS_MAX_HANDSHAKES 3)" in low[1]
    assert shedder.shed_total == 2


def test_the_shedder_refuses_while_the_loop_lags() -> None:
    clock, timers = Clock(), Timers()
    lag = LoopLag(0.1, clock=clock)
    lag.start(timers)  # type: ignore[arg-type]
    shedder = HandshakeShedder(
        max_handshakes=0, max_loop_lag=1.0, retry_after=5, lag=lag, rng=lambda: 0.0
    )
    assert shedder.judge(10_000) is None  # no handshake limit
    for _ in range(2):  # two ticks 1.4 s late
        clock.now += 1.5
        timers.fire()
    judged = shedder.judge(0)
    assert judged is not None and judged[0] == 5
    assert "event loop 1.40 s behind (CSMS_MAX_LOOP_LAG 1)" in judged[1]


def test_limits_count_handshakes_being_served_only() -> None:
    limits = ConnectionLimits(10, 10)
    first, second = limits.admit("192.0.2.1"), limits.admit("192.0.2.2")
    assert isinstance(first, Ticket) and isinstance(second, Ticket)
    assert limits.working == 0  # accepted, nothing read yet: no CPU spent, not counted
    limits.start_work(first)
    limits.start_work(first)  # once
    limits.start_work(second)
    assert limits.working == 2
    limits.end_work(second)  # its checks are over; its answer is on the way (a slow reader)
    limits.end_work(second)
    assert limits.working == 1
    limits.start_work(second)  # counted again only if it is started again
    limits.release(second)
    limits.handshake_done(first)
    assert (limits.working, limits.load().in_handshake, limits.load().open) == (0, 0, 1)
    limits.start_work(first)  # after its handshake: nothing to count
    assert limits.working == 0


def test_settings() -> None:
    server = load_settings({}).server
    assert (server.max_handshakes, server.max_loop_lag, server.shed_retry_after) == (500, 2.0, 5)
    assert server.gc_freeze is True
    env = {"CSMS_MAX_HANDSHAKES": "0", "CSMS_MAX_LOOP_LAG": "0", "CSMS_GC_FREEZE": "off"}
    server = load_settings(env).server
    assert (server.max_handshakes, server.max_loop_lag, server.gc_freeze) == (0, 0.0, False)
    for name, value in (
        ("CSMS_MAX_HANDSHAKES", "-1"),
        ("CSMS_MAX_LOOP_LAG", "-0.5"),
        ("CSMS_SHED_RETRY_AFTER", "0"),
    ):
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value})


def test_serve_flags() -> None:
    argv = ["serve", "--max-handshakes", "50", "--max-loop-lag", "0.5", "--no-gc-freeze"]
    server = _apply_serve_flags(load_settings({}), build_parser().parse_args(argv)).server
    assert (server.max_handshakes, server.max_loop_lag, server.gc_freeze) == (50, 0.5, False)
    with pytest.raises(SettingsError, match="CSMS_MAX_HANDSHAKES"):
        _apply_serve_flags(
            load_settings({}), build_parser().parse_args(["serve", "--max-handshakes", "-3"])
        )
