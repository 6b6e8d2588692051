"""gc.freeze after bursts of connections (issue 11, idle cost): when to freeze, when to collect."""

from __future__ import annotations

from typing import Any, cast

from csms.server.gcfreeze import SessionFreezer
from csms.server.registry import ConnectionRegistry


class Fleet:
    """Live and ended session counts, and the gc calls the freezer made."""

    def __init__(self) -> None:
        self.live = 0
        self.ended = 0
        self.calls: list[str] = []

    def freezer(self, min_sessions: int = 100) -> SessionFreezer:
        return SessionFreezer(
            lambda: self.live,
            lambda: self.ended,
            min_sessions=min_sessions,
            freeze=lambda: self.calls.append("freeze"),
            unfreeze=lambda: self.calls.append("unfreeze"),
            collect=lambda generation: self.calls.append(f"collect{generation}") or 0,
        )


def test_a_burst_is_frozen_once_it_is_over() -> None:
    fleet = Fleet()
    freezer = fleet.freezer()
    fleet.live = 400
    assert freezer.check() is None  # still growing fast: wait
    fleet.live = 1000
    assert freezer.check() is None
    fleet.live = 1010  # the burst has (nearly) stopped
    assert freezer.check() == "frozen"
    assert fleet.calls == ["collect1", "freeze"]  # young garbage collected, no full collection
    assert freezer.check() is None  # nothing new: nothing to do
    fleet.live = 1050  # a trickle below the threshold
    assert freezer.check() is None
    assert fleet.calls == ["collect1", "freeze"]


def test_small_fleets_are_not_frozen() -> None:
    fleet = Fleet()
    freezer = fleet.freezer()
    fleet.live = 99
    assert freezer.check() is None
    assert freezer.check() is None
    assert fleet.calls == []


def test_churn_of_frozen_sessions_is_collected_once_and_refrozen() -> None:
    fleet = Fleet()
    freezer = fleet.freezer()
    fleet.live = 1000
    freezer.check()
    assert freezer.check() == "frozen"
    fleet.calls.clear()
    fleet.ended, fleet.live = 200, 800  # under a quarter of the frozen sessions ended
    assert freezer.check() is None
    fleet.ended, fleet.live = 250, 1000  # a quarter ended (and came back)
    assert freezer.check() == "collected"
    assert fleet.calls == ["unfreeze", "collect2", "freeze"]
    fleet.ended = 400  # counted from the last freeze: 150 more is not a quarter
    assert freezer.check() is None


class _Session:
    """The two attributes the registry's churn count uses."""

    __slots__ = ("freeze_epoch", "station_id")

    def __init__(self, station_id: str) -> None:
        self.station_id = station_id
        self.freeze_epoch = 0


def test_only_sessions_alive_at_a_freeze_count_as_frozen_churn() -> None:
    registry = ConnectionRegistry()
    old = [_Session(f"old{i}") for i in range(3)]
    for session in old:
        registry.register(cast(Any, session))
    registry.frozen()  # the three are frozen
    young = [_Session(f"young{i}") for i in range(5)]
    for session in young:
        registry.register(cast(Any, session))
    for session in young:  # a storm's sessions that time out before any freeze
        registry.unregister(cast(Any, session))
    assert (registry.ended, registry.ended_frozen) == (5, 0)
    registry.unregister(cast(Any, old[0]))
    assert (registry.ended, registry.ended_frozen) == (6, 1)
