"""Assembling a transaction from its events does not depend on their arrival order (§3.2)."""

from __future__ import annotations

import itertools
from functools import reduce

from csms.domain.model import MeterSample
from csms.domain.transactions import (
    SeqRanges,
    add_seq_no,
    missing_seq_nos,
    parse_seq_ranges,
    seq_nos_with,
    seq_ranges_text,
)
from csms.storage.transaction_log import TransactionState, apply_event
from tests.unit.storage.builders import a_sample, a_transaction_event, at

EVENTS = (
    a_transaction_event(0, "Started", evse_id=1, connector_id=2, charging_state="EVConnected"),
    a_transaction_event(1, id_token="DRIVER", trigger_reason="Authorized"),
    a_transaction_event(2, charging_state="Charging"),
    a_transaction_event(3),
    a_transaction_event(
        4, "Ended", id_token="STOPPER", stopped_reason="Local", charging_state="Idle"
    ),
)

EXPECTED = TransactionState(
    evse_id=1,
    connector_id=2,
    id_token="DRIVER",
    id_token_seq_no=1,
    started_at=at(0),
    ended_at=at(240),
    stopped_reason="Local",
    charging_state="Idle",
    charging_state_seq_no=4,
    last_seq_no=4,
    closed_by="station",
    seq_nos="0..4",
)


def test_every_arrival_order_gives_the_same_transaction() -> None:
    for order in itertools.permutations(EVENTS):
        assert reduce(apply_event, order, TransactionState()) == EXPECTED, order


def test_applying_an_event_twice_changes_nothing() -> None:
    state = reduce(apply_event, EVENTS, TransactionState())
    assert reduce(apply_event, EVENTS, state) == state


def test_only_an_ended_event_gives_a_placeholder_without_start() -> None:
    state = apply_event(TransactionState(), EVENTS[-1])
    assert (state.started_at, state.ended_at, state.id_token) == (None, at(240), "STOPPER")


def test_the_stations_ended_replaces_an_operators_or_csmss_close() -> None:
    """A close the station did not make is provisional: its Ended wins, even with an earlier
    timestamp than the close, and the flag says what happened (issue 7 finding 11)."""
    for closed_by, flag in (
        ("operator", "StoppedAfterOperatorClose"),
        ("csms", "StoppedAfterAbandon"),
    ):
        closed = TransactionState(
            started_at=at(0), ended_at=at(600), stopped_reason="Other", closed_by=closed_by,
            flags="AbandonedByStation",
        )  # fmt: skip
        ended = apply_event(
            closed, a_transaction_event(3, "Ended", stopped_reason="EVDisconnected")
        )
        assert (ended.ended_at, ended.stopped_reason, ended.closed_by) == (
            at(180), "EVDisconnected", "station",
        )  # fmt: skip
        assert set((ended.flags or "").split(",")) == {"AbandonedByStation", flag}
        # Closed by the station already: a second Ended changes nothing it should not.
        again = apply_event(ended, a_transaction_event(3, "Ended", stopped_reason="Local"))
        assert again.closed_by == "station" and again.ended_at == at(180)


def _register(wh: float, seconds: float) -> MeterSample:
    return a_sample(wh, measurand="Energy.Active.Import.Register", timestamp=at(seconds))


METERED = (
    a_transaction_event(0, "Started", samples=(_register(1000, 0),)),
    a_transaction_event(1, samples=(_register(1500, 60), a_sample(7.0, measurand="Power.Active"))),
    a_transaction_event(2, "Ended", samples=(_register(2250.9, 120),)),
)


def test_energy_comes_from_the_earliest_and_latest_register_reading_in_any_order() -> None:
    """2.x energy (issue 8 block E): start reading, stop reading and their difference, whatever
    order the events arrive in (offline queues); other measurands do not count."""
    for order in itertools.permutations(METERED):
        state = reduce(apply_event, order, TransactionState())
        assert (state.meter_start_wh, state.meter_stop_wh, state.energy_wh) == (1000, 2250, 1250)
        assert (state.meter_start_at, state.meter_stop_at) == (at(0), at(120))
        assert state.flags is None


def test_a_meter_that_went_back_bills_nothing_and_is_flagged() -> None:
    events = (METERED[0], a_transaction_event(1, "Ended", samples=(_register(900, 120),)))
    state = reduce(apply_event, events, TransactionState())
    assert (state.energy_wh, state.flags) == (0, "MeterStopBelowStart")


def test_a_seq_no_gap_is_flagged_once_ended_and_cleared_when_the_event_comes() -> None:
    """TC_E_31: an Ended that skips two seqNos, then the two skipped events, offline."""
    started, ended = a_transaction_event(0, "Started"), a_transaction_event(3, "Ended")
    running = apply_event(TransactionState(), a_transaction_event(2))
    assert running.flags is None  # not ended: later events may still come
    gap = reduce(apply_event, (started, ended), TransactionState())
    assert (gap.seq_nos, gap.flags) == ("0..0,3..3", "SeqNoGap")
    filled = reduce(apply_event, (a_transaction_event(1), a_transaction_event(2)), gap)
    assert (filled.seq_nos, filled.flags) == ("0..3", None)


def test_seq_no_ranges() -> None:
    ranges: SeqRanges = ()
    for seq_no in (5, 0, 1, 3, 1, -2):
        ranges = add_seq_no(ranges, seq_no)
    assert ranges == ((-2, -2), (0, 1), (3, 3), (5, 5))
    assert missing_seq_nos(ranges) == 3
    assert parse_seq_ranges(seq_ranges_text(ranges)) == ranges
    assert add_seq_no(((0, 4),), 5) == ((0, 5),) and add_seq_no(((0, 4),), 2) == ((0, 4),)


def test_the_token_status_is_kept_with_the_authorising_token() -> None:
    state = apply_event(TransactionState(), a_transaction_event(1, id_token="A"), "Blocked")
    state = apply_event(state, a_transaction_event(3, id_token="B"), "Accepted")
    assert (state.id_token, state.id_token_status) == ("A", "Blocked")


def test_the_fast_seq_no_text_path_agrees_with_the_ranges() -> None:
    for order in itertools.permutations((-1, 0, 1, 2, 4, 5)):
        text: str | None = None
        ranges: SeqRanges = ()
        for seq_no in (*order, order[0]):
            text, ranges = seq_nos_with(text, seq_no), add_seq_no(ranges, seq_no)
            assert text == seq_ranges_text(ranges), order
