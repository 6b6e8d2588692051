"""Assembling a transaction from its events does not depend on their arrival order (§3.2)."""

from __future__ import annotations

import itertools
from functools import reduce

from csms.storage.transaction_log import TransactionState, apply_event
from tests.unit.storage.builders import a_transaction_event, at

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
