"""The charging repositories (tokens, 1.6 transactions, reservations) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete

from csms.domain.errors import UnknownReservation, UnknownTransaction
from csms.domain.reservations import ReservationStatus
from csms.domain.tokens import AuthorizationStatus, IdToken
from csms.domain.transactions import (
    StopOutcome,
    TransactionFlag,
    TransactionStart,
    TransactionStop,
)
from csms.storage import Store
from csms.storage.tables import meter_values, stations
from csms.storage.tables_charging import meter_value_messages, transactions_v16
from tests.unit.storage.builders import (
    T0,
    a_meter_values,
    a_sample,
    a_station,
    a_transaction_event,
    at,
)
from tests.unit.storage.db import fetch


def a_start(station_id: str = "CS1", **overrides: Any) -> TransactionStart:
    fields: dict[str, Any] = {
        "station_id": station_id,
        "evse_id": 1,
        "connector_id": 1,
        "id_token": "TAG",
        "meter_start_wh": 1000,
        "timestamp": T0,
    }
    return TransactionStart(**(fields | overrides))


# --- tokens ---------------------------------------------------------------------------------


async def test_token_round_trips_and_is_found_case_insensitively(store: Store) -> None:
    token = IdToken("AbC", AuthorizationStatus.BLOCKED, at(3600), "GROUP", created_at=T0)
    await store.tokens.put(token, T0)
    found = await store.tokens.get("abc")
    assert found is not None
    assert (found.id_token, found.status, found.expiry_date, found.parent_id_token) == (
        "AbC", AuthorizationStatus.BLOCKED, at(3600), "GROUP",
    )  # fmt: skip
    assert await store.tokens.get("nope") is None


async def test_put_replaces_a_token_and_keeps_one_row(store: Store) -> None:
    await store.tokens.put(IdToken("A", created_at=T0), T0)
    await store.tokens.put(IdToken("a", AuthorizationStatus.INVALID, created_at=T0), at(60))
    [token] = await store.tokens.list()
    assert (token.id_token, token.status, token.updated_at) == (
        "a",
        AuthorizationStatus.INVALID,
        at(60),
    )


async def test_list_orders_by_key_and_pages(store: Store) -> None:
    for name in ("c", "A", "b"):
        await store.tokens.put(IdToken(name), T0)
    assert [t.id_token for t in await store.tokens.list()] == ["A", "b", "c"]
    assert [t.id_token for t in await store.tokens.list(limit=1, offset=1)] == ["b"]


async def test_a_start_sees_an_open_2x_transaction_authorize_does_not(store: Store) -> None:
    await store.tokens.put(IdToken("TOKEN-2X"), T0)
    started = a_transaction_event(0, "Started", id_token="TOKEN-2X")
    await store.transactions.record_transaction_event(started)
    # Authorize answers the token's own status (1.6 §7.2, 2.0.1 AuthorizationStatusEnumType).
    info = await store.tokens.authorize("TOKEN-2X", at(60))
    assert info.status is AuthorizationStatus.ACCEPTED
    # A 1.6 start with the same token meanwhile (the batched path) sees it too.
    busy = await store.charging.start(a_start(id_token="TOKEN-2X"), at(60))
    assert busy.id_token_info.status is AuthorizationStatus.CONCURRENT_TX
    await store.transactions.record_transaction_event(a_transaction_event(1, "Ended"))
    await store.charging.stop(TransactionStop("CS1", busy.transaction_id, 1000, at(90)), at(90))
    assert (
        await store.tokens.authorize("TOKEN-2X", at(120))
    ).status is AuthorizationStatus.ACCEPTED


# --- start / stop ---------------------------------------------------------------------------


async def test_identical_starts_in_one_batch_get_one_transaction(store: Store) -> None:
    await store.tokens.put(IdToken("TAG"), T0)
    results = await asyncio.gather(
        store.charging.start(a_start(), T0),
        store.charging.start(a_start(), T0),
        store.charging.start(a_start(evse_id=2, connector_id=1), T0),
    )
    assert results[0].transaction_id == results[1].transaction_id
    assert [r.duplicate for r in results[:2]].count(True) == 1
    assert results[2].transaction_id != results[0].transaction_id
    assert len(await fetch(store.engine, transactions_v16)) == 2


async def test_transaction_ids_are_never_reused(store: Store) -> None:
    first = await store.charging.start(a_start(), T0)
    async with store.engine.begin() as conn:  # the station and its transactions go away
        await conn.execute(delete(stations).where(stations.c.id == "CS1"))
    await store.stations.add(a_station("CS1"))
    second = await store.charging.start(a_start(), T0)
    assert second.transaction_id > first.transaction_id and not second.duplicate


async def test_reservation_is_consumed_only_by_its_station(store: Store) -> None:
    await store.stations.add(a_station("CS2"))
    made = await store.reservations.create(
        station_id="CS1", connector_id=1, id_token="TAG", parent_id_token=None,
        expiry_date=at(3600), now=T0,
    )  # fmt: skip
    other = await store.charging.start(a_start("CS2", reservation_id=made.reservation_id), T0)
    assert other.flags == frozenset({TransactionFlag.RESERVATION_NOT_FOUND})
    mine = await store.charging.start(a_start(reservation_id=made.reservation_id), T0)
    assert mine.flags == frozenset()
    used = await store.reservations.get(made.reservation_id, T0)
    assert used is not None and (used.status, used.transaction_id) == (
        ReservationStatus.USED, str(mine.transaction_id),
    )  # fmt: skip


async def test_future_start_is_flagged_and_kept(store: Store) -> None:
    result = await store.charging.start(a_start(timestamp=at(3600)), T0)
    assert result.flags == frozenset({TransactionFlag.FUTURE_TIMESTAMP})
    stored = await store.charging.get(result.transaction_id)
    assert stored is not None and stored.flags == result.flags and stored.started_at == at(3600)


async def test_stop_stores_transaction_data_linked_to_the_transaction(store: Store) -> None:
    started = await store.charging.start(a_start(), T0)
    samples = (a_sample(1500.0, timestamp=at(30)), a_sample(2000.0, timestamp=at(60)))
    stop = TransactionStop("CS1", started.transaction_id, 2000, at(60), samples=samples)
    result = await store.charging.stop(stop, at(61))
    assert (result.outcome, result.energy_wh, result.id_token_info) == (
        StopOutcome.CLOSED,
        1000,
        None,
    )
    again = await store.charging.stop(stop, at(62))
    assert again.outcome is StopOutcome.ALREADY_CLOSED and again.energy_wh == 1000
    rows = await fetch(store.engine, meter_values, transaction_id=str(started.transaction_id))
    assert [(r["value"], r["evse_id"]) for r in rows] == [(1500.0, 1), (2000.0, 1)]
    closed = await store.charging.get(started.transaction_id)
    assert closed is not None and (closed.stopped_reason, closed.ended_at) == ("Local", at(60))


async def test_stop_before_start_is_flagged(store: Store) -> None:
    started = await store.charging.start(a_start(timestamp=at(600)), at(600))
    result = await store.charging.stop(
        TransactionStop("CS1", started.transaction_id, 1200, at(300)), at(601)
    )
    assert TransactionFlag.STOP_BEFORE_START in result.flags and result.energy_wh == 200


async def test_close_unknown_transaction_raises(store: Store) -> None:
    with pytest.raises(UnknownTransaction):
        await store.charging.close(404, operator="op", reason="r", now=T0)


async def test_list_open_filters_by_station(store: Store) -> None:
    await store.stations.add(a_station("CS2"))
    a = await store.charging.start(a_start(), T0)
    await store.charging.start(a_start("CS2", id_token="OTHER"), T0)
    assert [t.transaction_id for t in await store.charging.list_open(station_id="CS1")] == [
        str(a.transaction_id)
    ]
    assert len(await store.charging.list_open()) == 2


# --- meter values ---------------------------------------------------------------------------


async def test_meter_values_are_stored_once_per_content(store: Store) -> None:
    report = a_meter_values(transaction_id=None, samples=2)
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "x", "sampledValue": []}]}
    assert await store.charging.record_meter_values(report, payload, T0)
    assert not await store.charging.record_meter_values(report, payload, at(1))
    assert len(await fetch(store.engine, meter_values)) == 2
    assert len(await fetch(store.engine, meter_value_messages)) == 1
    assert await store.charging.unmatched() == []  # no transactionId: nothing to reconcile


async def test_meter_values_advance_the_register_mark(store: Store) -> None:
    started = await store.charging.start(a_start(meter_start_wh=100), T0)
    tx = str(started.transaction_id)
    for minute, value in ((1, 400.0), (2, 350.0)):
        report = a_meter_values(
            transaction_id=tx, samples=(a_sample(value, timestamp=at(minute * 60)),)
        )
        assert await store.charging.record_meter_values(report, {"v": value}, at(minute * 60))
    row = (await fetch(store.engine, transactions_v16))[0]
    assert (row["register_wh"], row["register_at"]) == (400.0, at(60))
    assert row["flags"] == TransactionFlag.NON_MONOTONIC_REGISTER.value
    assert row["updated_at"] == at(120)


# --- reservations ---------------------------------------------------------------------------


async def test_reservations_get_fresh_ids_and_expire_when_read(store: Store) -> None:
    def make(expiry_s: int) -> Any:
        return store.reservations.create(
            station_id="CS1", connector_id=0, id_token="TAG", parent_id_token="G",
            expiry_date=at(expiry_s), now=T0,
        )  # fmt: skip

    short, long = await make(60), await make(3600)
    assert short.reservation_id != long.reservation_id
    assert short.status is ReservationStatus.REQUESTED
    await store.reservations.set_status(short.reservation_id, ReservationStatus.ACCEPTED, T0)
    await store.reservations.set_status(long.reservation_id, ReservationStatus.ACCEPTED, T0)
    later = at(120)
    got = await store.reservations.get(short.reservation_id, later)
    assert got is not None and got.status is ReservationStatus.EXPIRED
    active = await store.reservations.list(later, station_id="CS1", active_only=True)
    assert [r.reservation_id for r in active] == [long.reservation_id]
    assert len(await store.reservations.list(later)) == 2
    assert await store.reservations.get(9999, later) is None
    with pytest.raises(UnknownReservation):
        await store.reservations.set_status(9999, ReservationStatus.CANCELLED, later)


async def test_start_after_the_reservation_expired_still_consumes_it(store: Store) -> None:
    made = await store.reservations.create(
        station_id="CS1", connector_id=1, id_token="TAG", parent_id_token=None,
        expiry_date=at(60), now=T0,
    )  # fmt: skip
    # An offline start within the reservation, delivered after its expiry.
    await store.charging.start(
        a_start(reservation_id=made.reservation_id, timestamp=at(30)), at(3600)
    )
    got = await store.reservations.get(made.reservation_id, at(3600))
    assert got is not None and got.status is ReservationStatus.USED


async def test_a_late_reserve_now_answer_never_revives_a_used_reservation(store: Store) -> None:
    made = await store.reservations.create(
        station_id="CS1", connector_id=1, id_token="TAG", parent_id_token=None,
        expiry_date=at(600), now=T0,
    )  # fmt: skip
    # The station answers ReserveNow and starts on it at once: both writes in one batch.
    await asyncio.gather(
        store.reservations.set_status(made.reservation_id, ReservationStatus.ACCEPTED, T0),
        store.charging.start(a_start(reservation_id=made.reservation_id), T0),
    )
    await store.reservations.set_status(made.reservation_id, ReservationStatus.ACCEPTED, at(1))
    got = await store.reservations.get(made.reservation_id, at(2))
    assert got is not None and got.status is ReservationStatus.USED


async def test_a_batch_of_meter_values_dedups_and_advances_each_transaction(store: Store) -> None:
    one = await store.charging.start(a_start(meter_start_wh=0), T0)
    two = await store.charging.start(a_start(evse_id=2, id_token="B", meter_start_wh=0), T0)

    def values(tx: int, second: int, wh: float) -> Any:
        report = a_meter_values(
            transaction_id=str(tx), samples=(a_sample(wh, timestamp=at(second)),)
        )
        return store.charging.record_meter_values(report, {"tx": tx, "s": second}, at(second))

    results = await asyncio.gather(
        values(one.transaction_id, 10, 100.0),
        values(one.transaction_id, 10, 100.0),  # the same message again
        values(one.transaction_id, 20, 250.0),
        values(two.transaction_id, 15, 40.0),
        values(-1, 16, 5.0),
    )
    assert results == [True, False, True, True, True]
    rows = {r["id"]: r for r in await fetch(store.engine, transactions_v16)}
    first, second = rows[one.transaction_id], rows[two.transaction_id]
    assert (first["register_wh"], first["register_at"], first["updated_at"]) == (
        250.0,
        at(20),
        at(20),
    )
    assert (second["register_wh"], second["flags"]) == (40.0, None)
    assert len(await fetch(store.engine, meter_values)) == 4
    [kept] = await store.charging.unmatched()
    assert (kept.transaction_id, kept.outcome) == (-1, StopOutcome.UNKNOWN)


async def test_a_batch_of_starts_and_stops_applies_them_in_order(store: Store) -> None:
    await store.tokens.put(IdToken("TAG"), T0)
    first = await store.charging.start(a_start(), T0)
    stop = TransactionStop("CS1", first.transaction_id, 1500, at(60), id_token="TAG")
    # One batch: a second start of the token elsewhere, the first one's stop and its retry.
    second, closed, retried, unknown = await asyncio.gather(
        store.charging.start(a_start(evse_id=2, timestamp=at(30)), at(30)),
        store.charging.stop(stop, at(61)),
        store.charging.stop(stop, at(61)),
        store.charging.stop(TransactionStop("CS1", 424242, 1, at(61)), at(61)),
    )
    # Starts apply before stops in a batch: the second start saw the first still open.
    assert second.id_token_info.status is AuthorizationStatus.CONCURRENT_TX
    assert (closed.outcome, closed.energy_wh) == (StopOutcome.CLOSED, 500)
    assert closed.id_token_info is not None
    # The second is open, but a Stop answers the token's own status (1.6 §7.2).
    assert closed.id_token_info.status is AuthorizationStatus.ACCEPTED
    assert retried.outcome is StopOutcome.ALREADY_CLOSED and retried.energy_wh == 500
    assert unknown.outcome is StopOutcome.UNKNOWN
    after = await store.charging.stop(
        TransactionStop("CS1", second.transaction_id, 1100, at(90), id_token="tag"), at(91)
    )
    assert after.id_token_info is not None
    assert after.id_token_info.status is AuthorizationStatus.ACCEPTED


async def test_consume_marks_the_stations_reservation_used_once(store: Store) -> None:
    made = await store.reservations.create(
        station_id="CS1", connector_id=1, id_token="TAG", parent_id_token=None,
        expiry_date=at(600), now=T0,
    )  # fmt: skip
    await store.stations.add(a_station("CS2"))
    assert not await store.reservations.consume("CS2", made.reservation_id, "TX-A", at(1))
    assert await store.reservations.consume("CS1", made.reservation_id, "TX-A", at(1))
    assert await store.reservations.consume("CS1", made.reservation_id, "TX-A", at(2))  # repeat
    assert not await store.reservations.consume("CS1", made.reservation_id, "TX-B", at(3))
    got = await store.reservations.get(made.reservation_id, at(4))
    assert got is not None and (got.status, got.transaction_id) == (ReservationStatus.USED, "TX-A")


async def test_2x_events_of_one_batch_are_authorized_as_if_one_after_the_other(
    store: Store,
) -> None:
    """A token Started twice in one group commit is ConcurrentTx the second time; an Ended in
    the batch frees it for a later Started; a repeat of a Started is not busy with itself; a
    1.6 StartTransaction sees the open 2.x transaction (issue 8 block C)."""
    await store.tokens.put(IdToken("TAG", parent_id_token="G"), T0)

    def started(tx: str, seq: int = 0) -> Any:
        return a_transaction_event(seq, "Started", transaction_id=tx, evse_id=1, id_token="TAG")

    batch = [
        started("A"),
        started("A"),  # a repeat of A's Started: not busy with itself
        started("B"),  # A is open: busy
        a_transaction_event(1, "Ended", transaction_id="A"),
        a_transaction_event(1, "Ended", transaction_id="B"),
        started("C"),  # A and B ended earlier in the batch
        a_transaction_event(1, "Updated", transaction_id="C", id_token="TAG"),  # own status
        a_transaction_event(0, "Started", transaction_id="D", evse_id=2),  # no token
    ]
    out = await asyncio.gather(*(store.transactions.apply_transaction_event(e) for e in batch))
    statuses = [None if o.id_token_info is None else o.id_token_info.status.value for o in out]
    assert statuses == [
        "Accepted", "Accepted", "ConcurrentTx", None, None, "Accepted", "Accepted", None,
    ]  # fmt: skip
    assert [o.fresh for o in out] == [True, False, True, True, True, True, True, True]
    assert out[0].id_token_info is not None and out[0].id_token_info.parent_id_token == "G"
    b = await store.charging.get_v2("CS1", "B")
    assert b is not None and not b.open
    assert b.id_token_status == "ConcurrentTx"
    start16 = await store.charging.start(a_start(evse_id=3), at(30))
    assert start16.id_token_info.status is AuthorizationStatus.CONCURRENT_TX
    # CSMS_CONCURRENT_TRANSACTIONS=true: a token may run several transactions.
    allowed = await store.transactions.apply_transaction_event(
        started("E"), refuse_concurrent=False
    )
    assert allowed.id_token_info is not None
    assert allowed.id_token_info.status is AuthorizationStatus.ACCEPTED
