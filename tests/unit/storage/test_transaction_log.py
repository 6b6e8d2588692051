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
