"""Transactions a station abandoned (issue 7 finding 11), on SQLite and PostgreSQL.

A station that boots again and reports its connector free has no transaction there: csms closes
what it had open (flag AbandonedByStation, reason Other, 1.6 energy up to the last register
reading), so the driver's token is free again; the station's own stop, delivered later from its
queue (1.6 §3.7; 2.0.1 E08, E12), still applies and wins. Also: Authorize answers the token's own
status, never ConcurrentTx (1.6 §7.2; 2.0.1 AuthorizationStatusEnumType), checked with the
independent ``ocpp`` package's 1.6 ChargePoint.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from websockets.asyncio.client import ClientConnection

from csms.blocks.authorization.commands import add_token
from csms.blocks.transactions.commands import audit_trail, list_open_transactions
from csms.domain.transactions import TransactionFlag
from csms.storage.tables import transactions
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import BOOT_2X, RunningCsms, call
from tests.unit.storage.db import fetch

NOW = datetime.now(UTC).replace(microsecond=0)
_ids = itertools.count(1)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        store = store_of(running)
        for station in ("CP16", "CP16-B", "CP2X"):
            await running.add_station(station)
        for tag in ("TAG16", "TAG2X", "TAG2X-B"):
            await add_token(store.tokens, tag, now=NOW)
        yield running


@asynccontextmanager
async def charge_point_16(server: RunningCsms, station: str) -> AsyncIterator[Any]:
    """The ``ocpp`` package's 1.6 ChargePoint, connected and booted."""
    async with server.connect(station, subprotocols=["ocpp1.6"]) as ws:
        cp = ChargePoint16(station, ws)
        task = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            assert boot.status == "Accepted"
            yield cp
        finally:
            task.cancel()


async def ok(ws: ClientConnection, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    reply = await call(ws, f"m{next(_ids)}", action, payload)
    assert reply[0] == 3, reply
    result: dict[str, Any] = reply[2]
    return result


def status_16(connector: int, status: str) -> Any:
    return call16.StatusNotification(
        connector_id=connector, error_code="NoError", status=status, timestamp=iso(NOW)
    )


def event_2x(
    tx: str, seq: int, event: str, at: datetime, *, evse: int = 1, **info: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "eventType": event,
        "timestamp": iso(at),
        "triggerReason": "Authorized" if event == "Started" else "StopAuthorized",
        "seqNo": seq,
        "transactionInfo": {"transactionId": tx, **info},
        "evse": {"id": evse, "connectorId": 1},
    }
    if event == "Started":
        payload["idToken"] = {"idToken": "TAG2X", "type": "ISO14443"}
    return payload


def status_2x(evse: int, connector: int, status: str) -> dict[str, Any]:
    return {
        "timestamp": iso(NOW),
        "connectorStatus": status,
        "evseId": evse,
        "connectorId": connector,
    }


async def test_authorize_of_a_token_in_a_transaction_answers_its_own_status(
    server: RunningCsms,
) -> None:
    """1.6 §7.2: ConcurrentTx is "only relevant for a StartTransaction.req"."""
    async with charge_point_16(server, "CP16") as a, charge_point_16(server, "CP16-B") as b:
        started = await a.call(
            call16.StartTransaction(
                connector_id=1, id_tag="TAG16", meter_start=0, timestamp=iso(NOW)
            )
        )
        assert started.id_tag_info["status"] == "Accepted"
        for cp in (a, b):  # on its own station (to stop it) and elsewhere
            answer = await cp.call(call16.Authorize(id_tag="TAG16"))
            assert answer.id_tag_info["status"] == "Accepted"
        # A second start elsewhere is where ConcurrentTx belongs.
        second = await b.call(
            call16.StartTransaction(
                connector_id=1, id_tag="TAG16", meter_start=0, timestamp=iso(NOW)
            )
        )
        assert second.id_tag_info["status"] == "ConcurrentTx"
        # The Stop of the first, with the other still open: the token's own status again.
        stopped = await a.call(
            call16.StopTransaction(
                meter_stop=10, timestamp=iso(NOW), transaction_id=started.transaction_id,
                id_tag="TAG16",
            )
        )  # fmt: skip
        assert stopped.id_tag_info["status"] == "Accepted"
    async with server.connect("CP2X", subprotocols=["ocpp2.0.1"]) as ws:
        assert (await ok(ws, "BootNotification", BOOT_2X))["status"] == "Accepted"
        token = {"idToken": "TAG16", "type": "ISO14443"}
        assert (await ok(ws, "Authorize", {"idToken": token}))["idTokenInfo"] == {
            "status": "Accepted"
        }


async def test_a_rebooted_16_station_reporting_available_ends_its_lost_transaction(
    server: RunningCsms,
) -> None:
    store = store_of(server)
    async with charge_point_16(server, "CP16") as cp:
        started = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag="TAG16", meter_start=1000, timestamp=iso(NOW)
            )
        )
        tx = started.transaction_id
        await cp.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[
                    {
                        "timestamp": iso(NOW + timedelta(minutes=1)),
                        "sampled_value": [{"value": "1500"}],
                    }
                ],
            )
        )
        # Connector 2 free says nothing about connector 1.
        await cp.call(status_16(2, "Available"))
        assert (await store.charging.get(tx)).open  # type: ignore[union-attr]
    # The station reboots (csms or the station lost the session) and reports connector 1 free.
    async with charge_point_16(server, "CP16") as cp:
        await cp.call(status_16(1, "Available"))
        closed = await store.charging.get(tx)
        assert closed is not None and not closed.open
        assert closed.closed_by == "csms" and closed.stopped_reason == "Other"
        assert TransactionFlag.ABANDONED_BY_STATION in closed.flags
        assert (closed.meter_stop_wh, closed.energy_wh) == (1500, 500)
        assert not await list_open_transactions(store.charging, now=NOW)
        # The driver's token is free again: a new session is Accepted.
        again = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag="TAG16",
                meter_start=2000,
                timestamp=iso(NOW + timedelta(minutes=10)),
            )
        )
        assert again.id_tag_info["status"] == "Accepted"
        # The station's own Stop of the first one was still queued: acknowledged, and it wins.
        late = call16.StopTransaction(
            meter_stop=1800,
            timestamp=iso(NOW + timedelta(minutes=5)),
            transaction_id=tx,
            reason="Reboot",
        )
        assert (await cp.call(late)).id_tag_info is None
        assert (await cp.call(late)).id_tag_info is None  # a retry changes nothing
    final = await store.charging.get(tx)
    assert final is not None
    assert (final.meter_stop_wh, final.energy_wh, final.stopped_reason, final.closed_by) == (
        1800,
        800,
        "Reboot",
        "station",
    )
    assert final.ended_at == NOW + timedelta(minutes=5)
    assert TransactionFlag.STOPPED_AFTER_ABANDON in final.flags
    assert [r.action for r in await audit_trail(store.charging, tx)] == [
        "abandon",
        "station-stop-after-abandon",
    ]


async def test_a_rebooted_2x_station_reporting_available_ends_its_lost_transaction(
    server: RunningCsms,
) -> None:
    store = store_of(server)
    async with server.connect("CP2X", subprotocols=["ocpp2.0.1"]) as ws:
        assert (await ok(ws, "BootNotification", BOOT_2X))["status"] == "Accepted"
        started = await ok(ws, "TransactionEvent", event_2x("T-1", 0, "Started", NOW))
        assert started == {"idTokenInfo": {"status": "Accepted"}}
        await ok(ws, "StatusNotification", status_2x(2, 1, "Available"))  # another EVSE
        [still] = await list_open_transactions(store.charging, now=NOW)
        assert (still.transaction_id, still.ocpp_version, still.id_token) == ("T-1", "2.x", "TAG2X")
    async with server.connect("CP2X", subprotocols=["ocpp2.0.1"]) as ws:
        assert (await ok(ws, "BootNotification", BOOT_2X))["status"] == "Accepted"
        await ok(ws, "StatusNotification", status_2x(1, 1, "Available"))
        assert not await list_open_transactions(store.charging, now=NOW)
        [row] = await fetch(store.engine, transactions, transaction_id="T-1")
        assert (row["closed_by"], row["stopped_reason"], row["flags"]) == (
            "csms",
            "Other",
            "AbandonedByStation",
        )
        # The station's queued Ended arrives after all, older than the close: it wins.
        ended = event_2x("T-1", 1, "Ended", NOW + timedelta(seconds=1), stoppedReason="Reboot")
        assert await ok(ws, "TransactionEvent", ended) == {}
        assert await ok(ws, "TransactionEvent", ended) == {}  # a repeat: stored once
    [row] = await fetch(store.engine, transactions, transaction_id="T-1")
    assert (row["closed_by"], row["stopped_reason"]) == ("station", "Reboot")
    assert row["ended_at"] == NOW + timedelta(seconds=1)
    assert set(row["flags"].split(",")) == {"AbandonedByStation", "StoppedAfterAbandon"}


async def test_another_2x_transaction_started_on_the_evse_ends_the_abandoned_one(
    server: RunningCsms,
) -> None:
    store = store_of(server)
    async with server.connect("CP2X", subprotocols=["ocpp2.0.1"]) as ws:
        assert (await ok(ws, "BootNotification", BOOT_2X))["status"] == "Accepted"
        await ok(ws, "TransactionEvent", event_2x("OLD", 0, "Started", NOW))
        await ok(ws, "TransactionEvent", event_2x("OTHER-EVSE", 0, "Started", NOW, evse=2))
        later = NOW + timedelta(minutes=1)
        await ok(ws, "TransactionEvent", event_2x("NEW", 0, "Started", later))
        open_ids = {t.transaction_id for t in await list_open_transactions(store.charging, now=NOW)}
        assert open_ids == {"OTHER-EVSE", "NEW"}
