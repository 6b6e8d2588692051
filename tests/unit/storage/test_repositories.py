"""Every repository method round-trips, on SQLite and on PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from csms.domain.errors import StorageError, UnknownStation
from csms.domain.model import ConnectorState, RegistrationStatus
from csms.storage import Store
from csms.storage.tables import (
    boot_notifications,
    connection_events,
    meter_values,
    transaction_events,
    transactions,
)
from tests.unit.storage.builders import (
    T0,
    a_boot,
    a_meter_values,
    a_sample,
    a_station,
    a_status,
    a_transaction_event,
    at,
)
from tests.unit.storage.db import fetch

# --- stations -------------------------------------------------------------------------------


async def test_station_round_trips_every_field(store: Store) -> None:
    station = a_station(
        "CS-ALL",
        registration_status=RegistrationStatus.PENDING,
        accepted=True,
        ocpp_version="ocpp2.0.1",
        vendor_name="Acme",
        model="M",
        serial_number="S",
        firmware_version="F",
        iccid="I",
        imsi="IM",
        meter_type="MT",
        meter_serial_number="MS",
        password_hash="$scrypt$salt$hash",
        lenient=True,
        online=True,
        created_at=at(0),
        last_boot_at=at(1),
        last_seen_at=at(2),
        connected_at=at(3),
        disconnected_at=at(4),
    )
    await store.stations.add(station)
    assert await store.stations.get("CS-ALL") == station


async def test_get_unknown_station_returns_none(store: Store) -> None:
    assert await store.stations.get("nope") is None


async def test_add_sets_created_at_when_missing(store: Store) -> None:
    await store.stations.add(a_station("NEW", created_at=None))
    stored = await store.stations.get("NEW")
    assert stored is not None and stored.created_at is not None
    assert stored.created_at.tzinfo is UTC


async def test_adding_an_existing_id_raises_storage_error(store: Store) -> None:
    with pytest.raises(StorageError) as caught:
        await store.stations.add(a_station("CS1"))
    assert isinstance(caught.value.__cause__, IntegrityError)


async def test_list_orders_by_id_with_limit_and_offset(store: Store) -> None:
    for station_id in ("CS3", "CS0", "CS2"):
        await store.stations.add(a_station(station_id))
    everything = [s.id for s in await store.stations.list()]
    assert everything == ["CS0", "CS1", "CS2", "CS3"]
    assert [s.id for s in await store.stations.list(limit=2, offset=1)] == ["CS1", "CS2"]


async def test_operator_changes_round_trip(store: Store) -> None:
    await store.stations.set_registration("CS1", RegistrationStatus.REJECTED)
    await store.stations.set_password_hash("CS1", "hash-1")
    await store.stations.set_lenient("CS1", True)
    stored = await store.stations.get("CS1")
    assert stored is not None
    assert (stored.registration_status, stored.password_hash, stored.lenient) == (
        RegistrationStatus.REJECTED,
        "hash-1",
        True,
    )
    await store.stations.set_password_hash("CS1", None)
    stored = await store.stations.get("CS1")
    assert stored is not None and stored.password_hash is None


@pytest.mark.parametrize("change", ["registration", "password", "lenient"])
async def test_operator_change_of_unknown_station_raises_unknown_station(
    store: Store, change: str
) -> None:
    with pytest.raises(UnknownStation):
        if change == "registration":
            await store.stations.set_registration("nope", RegistrationStatus.ACCEPTED)
        elif change == "password":
            await store.stations.set_password_hash("nope", "h")
        else:
            await store.stations.set_lenient("nope", True)


async def test_record_boot_updates_station_and_keeps_history(store: Store) -> None:
    await store.stations.add(a_station("B", registration_status=RegistrationStatus.PENDING))
    await store.stations.record_boot("B", a_boot(), RegistrationStatus.PENDING, at(1))
    stored = await store.stations.get("B")
    assert stored is not None
    assert (stored.vendor_name, stored.model, stored.serial_number) == (
        "Acme",
        "Wallbox 22",
        "SN-1",
    )
    assert stored.last_boot_at == at(1)
    assert not stored.accepted  # a Pending answer does not accept the station

    await store.stations.record_boot(
        "B", a_boot(serial_number=None), RegistrationStatus.ACCEPTED, at(2)
    )
    await store.stations.record_boot("B", a_boot(), RegistrationStatus.REJECTED, at(3))
    stored = await store.stations.get("B")
    assert stored is not None
    assert stored.accepted  # sticky once a Boot was accepted
    assert stored.registration_status is RegistrationStatus.PENDING  # the operator's choice

    history = await fetch(store.engine, boot_notifications, station_id="B")
    assert [(h["status"], h["at"], h["serial_number"]) for h in history] == [
        ("Pending", at(1), "SN-1"),
        ("Accepted", at(2), None),
        ("Rejected", at(3), "SN-1"),
    ]
    assert history[0]["reason"] == "PowerUp"


async def test_record_connection_tracks_online_state_and_version(store: Store) -> None:
    stations = store.stations
    await stations.record_connection("CS1", online=True, ocpp_version="ocpp2.0.1", now=at(1))
    stored = await stations.get("CS1")
    assert stored is not None
    assert (stored.online, stored.ocpp_version, stored.connected_at) == (True, "ocpp2.0.1", at(1))

    await stations.record_connection("CS1", online=False, ocpp_version=None, now=at(2))
    stored = await stations.get("CS1")
    assert stored is not None
    # The negotiated version outlives the connection: a reconnect without Boot needs it.
    assert (stored.online, stored.ocpp_version) == (False, "ocpp2.0.1")
    assert (stored.connected_at, stored.disconnected_at) == (at(1), at(2))

    events = await fetch(store.engine, connection_events, station_id="CS1")
    assert [(e["online"], e["ocpp_version"], e["at"]) for e in events] == [
        (True, "ocpp2.0.1", at(1)),
        (False, None, at(2)),
    ]


async def test_disconnect_then_reconnect_in_one_batch_ends_online(store: Store) -> None:
    await asyncio.gather(
        store.stations.record_connection("CS1", online=False, ocpp_version=None, now=at(1)),
        store.stations.record_connection("CS1", online=True, ocpp_version="ocpp1.6", now=at(2)),
    )
    stored = await store.stations.get("CS1")
    assert stored is not None
    assert (stored.online, stored.ocpp_version, stored.connected_at) == (True, "ocpp1.6", at(2))


async def test_touch_is_flushed_with_the_next_write(store: Store) -> None:
    store.stations.touch("CS1", at(5))  # plain call: a coroutine here would warn (an error)
    store.stations.touch("CS1", at(4))  # an older time does not move last-seen back
    await store.stations.record_status(a_status())
    stored = await store.stations.get("CS1")
    assert stored is not None and stored.last_seen_at == at(5)


# --- status ---------------------------------------------------------------------------------


async def test_record_status_keeps_current_state_and_history(store: Store) -> None:
    await store.stations.record_status(a_status(status="Available", timestamp=at(1)))
    await store.stations.record_status(
        a_status(status="Faulted", timestamp=at(2), error_code="GroundFailure", info="x")
    )
    await store.stations.record_status(a_status(evse_id=0, connector_id=0, timestamp=at(3)))
    states = await store.stations.connector_states("CS1")
    assert states == [
        ConnectorState(0, 0, "Available", at(3)),
        ConnectorState(1, 1, "Faulted", at(2), error_code="GroundFailure", info="x"),
    ]
    history = await store.stations.status_history("CS1")
    assert [(r.status, r.timestamp) for r in history] == [
        ("Available", at(3)),
        ("Faulted", at(2)),
        ("Available", at(1)),
    ]
    assert history[1] == a_status(
        status="Faulted", timestamp=at(2), error_code="GroundFailure", info="x"
    )
    assert len(await store.stations.status_history("CS1", limit=2)) == 2


async def test_a_late_status_report_does_not_override_a_newer_one(store: Store) -> None:
    """Queued messages may arrive after newer ones (ocpp-rules §3.1): timestamps decide."""
    await store.stations.record_status(a_status(status="Charging", timestamp=at(10)))
    await store.stations.record_status(a_status(status="Preparing", timestamp=at(5)))
    [state] = await store.stations.connector_states("CS1")
    assert state.status == "Charging"
    assert len(await store.stations.status_history("CS1")) == 2


async def test_status_reports_in_one_batch_keep_the_newest(store: Store) -> None:
    await asyncio.gather(
        store.stations.record_status(a_status(status="Charging", timestamp=at(10))),
        store.stations.record_status(a_status(status="Preparing", timestamp=at(5))),
        store.stations.record_status(a_status(status="SuspendedEV", timestamp=at(10))),
    )
    [state] = await store.stations.connector_states("CS1")
    assert state.status == "SuspendedEV"  # ties go to the later arrival


async def test_status_of_unknown_station_raises_storage_error(store: Store) -> None:
    with pytest.raises(StorageError) as caught:
        await store.stations.record_status(a_status("nope"))
    assert isinstance(caught.value.__cause__, IntegrityError)


async def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    await store.stations.record_status(a_status(timestamp=T0.astimezone(plus_two)))
    [state] = await store.stations.connector_states("CS1")
    assert state.timestamp == T0 and state.timestamp.utcoffset() == timedelta(0)


# --- meter values ---------------------------------------------------------------------------


async def test_meter_values_round_trip_one_row_per_sample(store: Store) -> None:
    signed = "<signedMeterValue>verbatim  \n bytes</signedMeterValue>"
    report = a_meter_values(
        samples=(
            a_sample(
                12.5,
                raw_value="12.50",
                measurand="Power.Active.Import",
                phase="L1-N",
                unit="kW",
                context="Sample.Periodic",
                location="Outlet",
                signed_data=signed,
                timestamp=at(7),
            ),
            a_sample(None, raw_value="garbage"),
        ),
    )
    await store.transactions.record_meter_values(report)
    rows = await fetch(store.engine, meter_values, station_id="CS1")
    assert len(rows) == 2
    first = rows[0]
    assert {k: first[k] for k in ("evse_id", "transaction_id", "timestamp", "value")} == {
        "evse_id": 1,
        "transaction_id": "TX1",
        "timestamp": at(7),
        "value": 12.5,
    }
    assert (first["raw_value"], first["signed_data"], first["phase"]) == ("12.50", signed, "L1-N")
    assert (rows[1]["value"], rows[1]["raw_value"], rows[1]["signed_data"]) == (
        None,
        "garbage",
        None,
    )
    assert first["received_at"].tzinfo is UTC


async def test_meter_values_without_samples_store_nothing(store: Store) -> None:
    await store.transactions.record_meter_values(a_meter_values(samples=0))
    assert await fetch(store.engine, meter_values) == []


# --- transaction events (ocpp-rules §3.2, §6 tests 56-60) -----------------------------------


async def test_transaction_event_is_stored_once(store: Store) -> None:
    event = a_transaction_event(0, "Started", samples=(a_sample(1.0),), id_token="TOKEN")
    assert await store.transactions.record_transaction_event(event) is True
    retry = dataclasses.replace(event, raw={"resent": True})  # same key, new message id
    assert await store.transactions.record_transaction_event(retry) is False
    [row] = await fetch(store.engine, transaction_events)
    assert (row["seq_no"], row["event_type"], row["id_token"], row["raw"]) == (
        0,
        "Started",
        "TOKEN",
        {"eventType": "Started", "seqNo": 0},
    )
    assert len(await fetch(store.engine, meter_values)) == 1  # the retry's samples are not stored


async def test_duplicates_in_one_batch_are_stored_once(store: Store) -> None:
    event = a_transaction_event(3, samples=(a_sample(1.0),))
    results = await asyncio.gather(
        *(store.transactions.record_transaction_event(event) for _ in range(5))
    )
    assert sorted(results) == [False, False, False, False, True]
    assert len(await fetch(store.engine, transaction_events)) == 1
    assert len(await fetch(store.engine, meter_values)) == 1


async def test_events_out_of_order_assemble_the_transaction(store: Store) -> None:
    ended = a_transaction_event(
        3, "Ended", stopped_reason="EVDisconnected", id_token="STOPPER", charging_state="Idle"
    )
    assert await store.transactions.record_transaction_event(ended)
    [tx] = await fetch(store.engine, transactions)
    assert (tx["started_at"], tx["ended_at"], tx["id_token"]) == (None, at(180), "STOPPER")

    updated = a_transaction_event(2, charging_state="Charging", samples=(a_sample(5.0),))
    started = a_transaction_event(
        0, "Started", evse_id=2, connector_id=1, id_token="DRIVER", charging_state="EVConnected"
    )
    for event in (updated, started):
        assert await store.transactions.record_transaction_event(event)
    [tx] = await fetch(store.engine, transactions)
    assert {k: tx[k] for k in ("station_id", "transaction_id", "evse_id", "connector_id")} == {
        "station_id": "CS1",
        "transaction_id": "TX1",
        "evse_id": 2,
        "connector_id": 1,
    }
    assert (tx["started_at"], tx["ended_at"], tx["stopped_reason"]) == (
        at(0),
        at(180),
        "EVDisconnected",
    )
    assert tx["id_token"] == "DRIVER"  # the authorising token, not the one that stopped it
    assert tx["charging_state"] == "Idle"  # from the highest seqNo
    assert tx["last_seq_no"] == 3
    # The Updated named no EVSE and came before Started: its sample's EVSE is unknown, but the
    # transaction id links it to the assembled transaction.
    [sample] = await fetch(store.engine, meter_values)
    assert (sample["transaction_id"], sample["evse_id"], sample["value"]) == ("TX1", None, 5.0)


async def test_samples_of_an_event_without_evse_use_the_transactions_evse(store: Store) -> None:
    await store.transactions.record_transaction_event(a_transaction_event(0, "Started", evse_id=2))
    await store.transactions.record_transaction_event(a_transaction_event(1, samples=(a_sample(),)))
    [sample] = await fetch(store.engine, meter_values)
    assert sample["evse_id"] == 2


async def test_ended_for_unknown_transaction_creates_a_placeholder(store: Store) -> None:
    """§6 test 60: acknowledged, never refused; the missing Started shows as started_at None."""
    event = a_transaction_event(7, "Ended", transaction_id="LOST", stopped_reason="Local")
    assert await store.transactions.record_transaction_event(event)
    [tx] = await fetch(store.engine, transactions, transaction_id="LOST")
    assert (tx["started_at"], tx["ended_at"], tx["last_seq_no"]) == (None, at(420), 7)


async def test_seq_no_restarting_at_zero_for_a_new_transaction_is_new(store: Store) -> None:
    """§6 test 58 (TC_E_53): seqNo is per transaction."""
    for transaction_id in ("TX1", "TX2"):
        event = a_transaction_event(0, "Started", transaction_id=transaction_id)
        assert await store.transactions.record_transaction_event(event)
    assert len(await fetch(store.engine, transactions)) == 2


async def test_same_transaction_id_on_two_stations_are_two_transactions(store: Store) -> None:
    await store.stations.add(a_station("CS2"))
    for station_id in ("CS1", "CS2"):
        event = a_transaction_event(0, "Started", station_id=station_id)
        assert await store.transactions.record_transaction_event(event)
    assert len(await fetch(store.engine, transactions)) == 2
