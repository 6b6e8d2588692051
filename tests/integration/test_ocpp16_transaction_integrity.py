"""1.6 transaction data integrity over the wire, on SQLite and PostgreSQL (ocpp-rules.md §3.1, §6 F).

Each test drives a real csms with raw OCPP-J frames, as a charger replaying its queue would, and
checks both the answers (always a CALLRESULT: never a CALLERROR for a business reason) and what
was stored.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from csms.blocks.authorization.commands import add_token
from csms.blocks.transactions.commands import (
    audit_trail,
    close_transaction,
    list_open_transactions,
)
from csms.domain.errors import TransactionNotOpen
from csms.domain.tokens import AuthorizationStatus
from csms.domain.transactions import StopOutcome, TransactionFlag
from csms.storage.tables import meter_values
from csms.storage.tables_charging import transactions_v16
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import BOOT_16, RunningCsms, call
from tests.unit.storage.db import fetch

NOW = datetime.now(UTC).replace(microsecond=0)
_ids = itertools.count(1)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def ok(ws: ClientConnection, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Send a CALL with a fresh message id; the answer must be a CALLRESULT."""
    reply = await call(ws, f"m{next(_ids)}", action, payload)
    assert reply[0] == 3, reply
    result: dict[str, Any] = reply[2]
    return result


def start(
    tag: str = "TAG", meter: int = 100, at: datetime = NOW, connector: int = 1
) -> dict[str, Any]:
    return {"connectorId": connector, "idTag": tag, "meterStart": meter, "timestamp": iso(at)}


def stop(tx: int, meter: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"transactionId": tx, "meterStop": meter, "timestamp": iso(at), **extra}


def sampled(at: datetime, *values: str) -> list[dict[str, Any]]:
    return [{"timestamp": iso(at), "sampledValue": [{"value": v} for v in values]}]


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        store = store_of(running)
        for station in ("CP-A", "CP-B"):
            await running.add_station(station)
        await add_token(store.tokens, "TAG", now=NOW)
        await add_token(store.tokens, "TAG2", now=NOW)
        yield running


@asynccontextmanager
async def booted(server: RunningCsms, station: str) -> AsyncIterator[ClientConnection]:
    """A connected 1.6 station that booted (Accepted)."""
    async with server.connect(station) as ws:
        assert (await call(ws, "boot", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        yield ws


async def test_start_retried_with_a_new_message_id_gets_the_same_transaction(
    server: RunningCsms,
) -> None:
    async with booted(server, "CP-A") as ws:
        first = await ok(ws, "StartTransaction", start())
        retry = await ok(ws, "StartTransaction", start())
        assert retry == first and first["idTagInfo"]["status"] == "Accepted"
        other = await ok(ws, "StartTransaction", start(meter=200, connector=2, tag="TAG2"))
        assert other["transactionId"] != first["transactionId"]
    rows = await fetch(store_of(server).engine, transactions_v16)
    assert len(rows) == 2


async def test_transaction_ids_are_unique_across_stations(server: RunningCsms) -> None:
    async with booted(server, "CP-A") as a, booted(server, "CP-B") as b:
        # The same content from two stations: two transactions, two ids.
        tx_a = (await ok(a, "StartTransaction", start()))["transactionId"]
        tx_b = (await ok(b, "StartTransaction", start(tag="TAG2")))["transactionId"]
        assert tx_a != tx_b


async def test_duplicate_meter_values_are_stored_once(server: RunningCsms) -> None:
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start()))["transactionId"]
        payload = {"connectorId": 1, "transactionId": tx, "meterValue": sampled(NOW, "150")}
        assert await ok(ws, "MeterValues", payload) == {}
        assert await ok(ws, "MeterValues", payload) == {}  # retried with a new message id
        later = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": sampled(NOW + timedelta(seconds=60), "180"),
        }
        assert await ok(ws, "MeterValues", later) == {}
    rows = await fetch(store_of(server).engine, meter_values, transaction_id=str(tx))
    assert [r["raw_value"] for r in rows] == ["150", "180"]


async def test_retried_stop_closes_once_and_stores_its_values_once(server: RunningCsms) -> None:
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start()))["transactionId"]
        end = NOW + timedelta(minutes=30)
        payload = stop(tx, 900, end, idTag="TAG", transactionData=sampled(end, "900"))
        first = await ok(ws, "StopTransaction", payload)
        retry = await ok(ws, "StopTransaction", payload)
        assert first == retry == {"idTagInfo": {"status": "Accepted"}}
    store = store_of(server)
    closed = await store.charging.get(tx)
    assert closed is not None and closed.energy_wh == 800 and closed.ended_at == end
    assert len(await fetch(store.engine, meter_values, transaction_id=str(tx))) == 1


async def test_meter_stop_below_meter_start_is_accepted_flagged_and_not_billed(
    server: RunningCsms,
) -> None:
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start(meter=5000)))["transactionId"]
        assert await ok(ws, "StopTransaction", stop(tx, 4000, NOW + timedelta(hours=1))) == {}
    closed = await store_of(server).charging.get(tx)
    assert closed is not None and closed.energy_wh == 0
    assert TransactionFlag.METER_STOP_BELOW_START in closed.flags


async def test_non_monotonic_registers_and_future_timestamps_are_flagged(
    server: RunningCsms,
) -> None:
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start(meter=100)))["transactionId"]
        for minutes, value in ((1, "500"), (2, "300")):  # the register goes back
            at = NOW + timedelta(minutes=minutes)
            payload = {"connectorId": 1, "transactionId": tx, "meterValue": sampled(at, value)}
            assert await ok(ws, "MeterValues", payload) == {}
        future = datetime.now(UTC) + timedelta(days=2)
        assert await ok(ws, "StopTransaction", stop(tx, 600, future)) == {}
    closed = await store_of(server).charging.get(tx)
    assert closed is not None and closed.energy_wh == 500
    assert {
        TransactionFlag.NON_MONOTONIC_REGISTER,
        TransactionFlag.FUTURE_TIMESTAMP,
    } <= closed.flags


@pytest.mark.parametrize("transaction_id", [-1, 987654])
async def test_unknown_transaction_ids_are_answered_and_kept(
    server: RunningCsms, transaction_id: int
) -> None:
    async with booted(server, "CP-A") as ws:
        values = {
            "connectorId": 1,
            "transactionId": transaction_id,
            "meterValue": sampled(NOW, "7"),
        }
        assert await ok(ws, "MeterValues", values) == {}
        answer = await ok(ws, "StopTransaction", stop(transaction_id, 10, NOW, idTag="TAG"))
        assert answer == {"idTagInfo": {"status": "Accepted"}}
        assert await ok(ws, "StopTransaction", stop(transaction_id, 10, NOW, idTag="TAG")) == answer
    store = store_of(server)
    kept = await store.charging.unmatched(station_id="CP-A")
    assert sorted(m.action for m in kept) == ["MeterValues", "StopTransaction"]
    assert {(m.transaction_id, m.outcome) for m in kept} == {(transaction_id, StopOutcome.UNKNOWN)}
    # Nothing was guessed onto a transaction of the station.
    assert await store.charging.list_open() == []


async def test_another_stations_transaction_id_never_stops_its_session(
    server: RunningCsms,
) -> None:
    async with booted(server, "CP-A") as a, booted(server, "CP-B") as b:
        tx = (await ok(a, "StartTransaction", start()))["transactionId"]
        assert await ok(b, "StopTransaction", stop(tx, 5000, NOW + timedelta(minutes=5))) == {}
    store = store_of(server)
    still = await store.charging.get(tx)
    assert still is not None and still.open and still.station_id == "CP-A"
    [kept] = await store.charging.unmatched(station_id="CP-B")
    assert (kept.transaction_id, kept.outcome) == (tx, StopOutcome.FOREIGN)


async def test_power_loss_stop_after_a_new_boot_closes_the_old_transaction(
    server: RunningCsms,
) -> None:
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start(meter=100)))["transactionId"]
    # The power goes (the connection drops without a Stop), and comes
    async with booted(server, "CP-A") as ws:  # back: boot, status, then the queued Stop
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        assert await ok(ws, "StatusNotification", status) == {}
        stopped = stop(tx, 400, NOW + timedelta(minutes=10), reason="PowerLoss")
        assert await ok(ws, "StopTransaction", stopped) == {}
    closed = await store_of(server).charging.get(tx)
    assert closed is not None and not closed.open
    assert (closed.stopped_reason, closed.energy_wh) == ("PowerLoss", 300)


async def test_offline_start_with_old_timestamp_and_a_now_blocked_tag(
    server: RunningCsms,
) -> None:
    store = store_of(server)
    await add_token(store.tokens, "TAG2", now=NOW, status=AuthorizationStatus.BLOCKED)
    async with booted(server, "CP-A") as ws:
        hours_ago = NOW - timedelta(hours=5)
        answer = await ok(ws, "StartTransaction", start(tag="TAG2", at=hours_ago))
        assert answer["idTagInfo"] == {"status": "Blocked"} and answer["transactionId"] > 0
        ended = hours_ago + timedelta(hours=1)
        assert (
            await ok(
                ws,
                "StopTransaction",
                stop(answer["transactionId"], 700, ended, reason="DeAuthorized"),
            )
            == {}
        )
    closed = await store.charging.get(answer["transactionId"])
    assert closed is not None and (closed.started_at, closed.ended_at) == (hours_ago, ended)
    assert closed.id_token_status == "Blocked"


async def test_operator_closes_a_transaction_left_open_with_an_audit_record(
    server: RunningCsms,
) -> None:
    store = store_of(server)
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start(meter=100)))["transactionId"]
        values = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": sampled(NOW + timedelta(minutes=3), "250"),
        }
        await ok(ws, "MeterValues", values)
    later = datetime.now(UTC) + timedelta(days=1)
    stale = await list_open_transactions(
        store.charging, now=later, inactive_for=timedelta(hours=12)
    )
    assert [t.transaction_id for t in stale] == [str(tx)]
    assert (
        await list_open_transactions(store.charging, now=NOW, inactive_for=timedelta(hours=12))
        == []
    )
    closed = await close_transaction(
        store.charging, tx, operator="alice", reason="station dead", now=later
    )
    assert (closed.energy_wh, closed.closed_by) == (150, "operator")
    assert TransactionFlag.CLOSED_BY_OPERATOR in closed.flags
    with pytest.raises(TransactionNotOpen):
        await close_transaction(store.charging, tx, operator="bob", reason="again", now=later)
    [record] = await audit_trail(store.charging, tx)
    assert (record.action, record.operator, record.reason) == ("close", "alice", "station dead")
    # The tag is free again.
    async with booted(server, "CP-A") as ws:
        assert (await ok(ws, "Authorize", {"idTag": "TAG"}))["idTagInfo"]["status"] == "Accepted"
        # The station's real Stop arrives after all: its values replace the estimate, audited.
        assert await ok(ws, "StopTransaction", stop(tx, 300, NOW + timedelta(minutes=5))) == {}
    final = await store.charging.get(tx)
    assert final is not None and (final.energy_wh, final.closed_by) == (200, "station")
    assert TransactionFlag.STOPPED_AFTER_OPERATOR_CLOSE in final.flags
    assert [r.action for r in await audit_trail(store.charging, tx)] == [
        "close",
        "station-stop-after-close",
    ]


async def test_concurrent_tx_for_a_tag_already_charging_elsewhere(server: RunningCsms) -> None:
    async with booted(server, "CP-A") as a, booted(server, "CP-B") as b:
        tx = (await ok(a, "StartTransaction", start()))["transactionId"]
        # Its own retry is not ConcurrentTx; another start elsewhere is.
        assert (await ok(a, "StartTransaction", start()))["idTagInfo"]["status"] == "Accepted"
        # Authorize answers the token's own status (§7.2: ConcurrentTx is only for a Start).
        assert (await ok(b, "Authorize", {"idTag": "tag"}))["idTagInfo"]["status"] == "Accepted"
        second = await ok(b, "StartTransaction", start(at=NOW + timedelta(seconds=5)))
        assert second["idTagInfo"]["status"] == "ConcurrentTx"  # still started: it is a fact
        stopped = await ok(
            a, "StopTransaction", stop(tx, 200, NOW + timedelta(minutes=1), idTag="TAG")
        )
        # CP-B's transaction is still open, but ConcurrentTx is only for a Start (1.6 §7.2).
        assert stopped["idTagInfo"]["status"] == "Accepted"


async def test_stop_ends_the_evses_tx_profiles(server: RunningCsms) -> None:
    """1.6 §3.13.1: a TxProfile ends with its transaction; TxDefault and other EVSEs stay."""
    from csms.domain.smartcharging import (
        ChargingProfile,
        ChargingProfileKind,
        ChargingProfilePurpose,
        ChargingProfileStatus,
        ChargingRateUnit,
        ChargingSchedule,
        ChargingSchedulePeriod,
    )

    def profile(profile_id: int, purpose: ChargingProfilePurpose) -> ChargingProfile:
        schedule = ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, 16.0),))
        return ChargingProfile(profile_id, 0, purpose, ChargingProfileKind.RELATIVE, schedule)

    profiles = store_of(server).charging_profiles
    accepted = ChargingProfileStatus.ACCEPTED
    async with booted(server, "CP-A") as ws:
        tx = (await ok(ws, "StartTransaction", start()))["transactionId"]
        await profiles.record_set("CP-A", 1, profile(1, ChargingProfilePurpose.TX), accepted, NOW)
        await profiles.record_set("CP-A", 2, profile(2, ChargingProfilePurpose.TX), accepted, NOW)
        await profiles.record_set(
            "CP-A", 1, profile(3, ChargingProfilePurpose.TX_DEFAULT), accepted, NOW
        )
        assert await ok(ws, "StopTransaction", stop(tx, 200, NOW + timedelta(minutes=1))) == {}
    left = {(p.evse_id, p.profile.id) for p in await profiles.installed("CP-A")}
    assert left == {(2, 2), (1, 3)}


async def test_a_lenient_stations_unreadable_timestamp_still_gets_its_transaction(
    server: RunningCsms,
) -> None:
    await server.add_station("CP-L", lenient=True)
    async with booted(server, "CP-L") as ws:
        payload = {**start(), "timestamp": "yesterday-ish"}
        answer = await ok(ws, "StartTransaction", payload)
        assert answer["idTagInfo"]["status"] == "Accepted"
        stopped = {**stop(answer["transactionId"], 150, NOW), "timestamp": "13:00"}
        assert await ok(ws, "StopTransaction", stopped) == {}
    closed = await store_of(server).charging.get(answer["transactionId"])
    assert closed is not None and closed.energy_wh == 50 and closed.started_at is not None
