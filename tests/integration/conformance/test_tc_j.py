"""OCPP 2.0.1 Part 6 §3.11, J MeterValues: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms.

The cases have no tool validation beyond csms answering; what csms must do with the values
(2.0.1 J01/J02: store them per EVSE and transaction, signed values verbatim) is checked in the
stored ``meter_values``. Clock-aligned timestamps are generated, never waited for.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from csms.storage.tables import meter_values
from tests.integration.conformance.octt import (
    Octt,
    clock_aligned,
    connected,
    meter_value,
    timestamp,
)
from tests.integration.harness import RunningCsms
from tests.unit.storage.db import fetch


@pytest.fixture
def database(database_url: str) -> str:
    """What these cases check is what csms stored: on SQLite and on PostgreSQL."""
    return database_url


Payload = dict[str, Any]
CLOCK_INTERVAL = 900  # <Configured clock-aligned Meter Values interval>, seconds
SAMPLED_INTERVAL = 60  # <Configured sampled Meter Values interval>, seconds
TWO_EVSES = ((1, 1), (2, 1))
# <Generated SignedMeterValueType>
SIGNED = {
    "signedMeterData": "AP///8IAAAAAAQAAAAAAAAAAAAAA3lHgXQ==",
    "signingMethod": "ECDSA-secp256r1-SHA256",
    "encodingMethod": "OCMF",
    "publicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
}


async def _stored(server: RunningCsms, **where: Any) -> list[dict[str, Any]]:
    assert server.csms.store is not None
    return await fetch(server.csms.store.engine, meter_values, station_id="OCTT-CS", **where)


def _at(row: dict[str, Any]) -> str:
    stamp: datetime = row["timestamp"]
    return timestamp(stamp)


async def _clock_aligned_outside_transactions(
    octt: Octt, evses: tuple[int, ...], instants: list[datetime]
) -> None:
    """Step 1 of J_01/J_02: MeterValues (Sample.Clock) for each EVSE, and the FiscalMetering
    NotifyEvent (trigger Periodic), every interval."""
    for n, at in enumerate(instants):
        for evse_id in evses:
            request = {
                "evseId": evse_id,
                "meterValue": [meter_value(1000.0 * n, "Sample.Clock", at=at)],
            }
            assert await octt.call("MeterValues", request) == {}
        event = octt.notify_event(
            {"name": "FiscalMetering"},
            "EnergyImport",
            str(1000 * n),
            trigger="Periodic",
            notification="PreconfiguredMonitor",
        )
        event["eventData"][0]["timestamp"] = timestamp(at)
        assert await octt.call("NotifyEvent", event) == {}


async def test_TC_J_01_CSMS_clock_aligned_no_transaction(server: RunningCsms) -> None:
    instants = clock_aligned(CLOCK_INTERVAL, 3)
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        await _clock_aligned_outside_transactions(octt, (0, 1, 2), instants)
    rows = await _stored(server)
    assert {row["transaction_id"] for row in rows} == {None}
    assert {row["context"] for row in rows} == {"Sample.Clock"}
    for evse_id in (0, 1, 2):
        per_evse = [row for row in rows if row["evse_id"] == evse_id]
        assert [_at(row) for row in per_evse] == [timestamp(at) for at in instants]
        assert [row["value"] for row in per_evse] == [0.0, 1000.0, 2000.0]


async def test_TC_J_02_CSMS_clock_aligned_transaction_ongoing(server: RunningCsms) -> None:
    instants = clock_aligned(CLOCK_INTERVAL, 3)
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        tx = octt.transaction()
        await tx.energy_transfer_started()
        await _clock_aligned_outside_transactions(octt, (0, 2), instants)
        for n, at in enumerate(instants):
            await tx.event(
                "Updated",
                "MeterValueClock",
                meter_values=[meter_value(500.0 * n, "Sample.Clock", at=at)],
            )
    in_tx = await _stored(server, transaction_id=tx.transaction_id)
    assert [(_at(r), r["evse_id"], r["context"]) for r in in_tx] == [
        (timestamp(at), 1, "Sample.Clock") for at in instants
    ]
    assert {row["evse_id"] for row in await _stored(server, transaction_id=None)} == {0, 2}


def _ended_meter_values(signed: Payload | None, context: str) -> list[Payload]:
    """The meterValue of the Ended event: the interval's samples, the last Transaction.End."""
    instants = clock_aligned(CLOCK_INTERVAL, 3)
    values = [
        meter_value(100.0 * n, context, at=at, signed=signed) for n, at in enumerate(instants)
    ]
    values[-1]["sampledValue"][0]["context"] = "Transaction.End"
    return values


async def _ended_with_meter_values(
    server: RunningCsms, context: str, signed: Payload | None = None
) -> list[dict[str, Any]]:
    """EnergyTransferStarted, then EVDisconnected with the meter values in the Ended event."""
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        await tx.stop_authorized()
        await tx.ev_connected_post_session()
        await tx.ev_disconnected(meter_values=_ended_meter_values(signed, context))
    rows = await _stored(server, transaction_id=tx.transaction_id)
    assert [row["context"] for row in rows] == [context, context, "Transaction.End"]
    assert [row["value"] for row in rows] == [0.0, 100.0, 200.0]
    assert {row["evse_id"] for row in rows} == {1}  # the Ended event names no EVSE
    return rows


async def test_TC_J_03_CSMS_clock_aligned_ended(server: RunningCsms) -> None:
    rows = await _ended_with_meter_values(server, "Sample.Clock")
    assert {row["signed_data"] for row in rows} == {None}


async def test_TC_J_04_CSMS_clock_aligned_signed(server: RunningCsms) -> None:
    rows = await _ended_with_meter_values(server, "Sample.Clock", SIGNED)
    assert [json.loads(row["signed_data"]) for row in rows] == [SIGNED] * 3


async def test_TC_J_07_CSMS_sampled_started_evse_known(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.ev_connected_pre_session(meter_values=[meter_value(10.0, "Transaction.Begin")])
    [row] = await _stored(server, transaction_id=tx.transaction_id)
    assert (row["context"], row["evse_id"], row["value"]) == ("Transaction.Begin", 1, 10.0)


async def test_TC_J_08_CSMS_sampled_begin_evse_not_known(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.authorize()  # Started without an EVSE: not known yet
        await tx.ev_connected_pre_session(meter_values=[meter_value(10.0, "Transaction.Begin")])
        await tx.energy_transfer_started()
    [row] = await _stored(server, transaction_id=tx.transaction_id)
    assert (row["context"], row["evse_id"], row["value"]) == ("Transaction.Begin", 1, 10.0)


async def test_TC_J_09_CSMS_sampled_updated(server: RunningCsms) -> None:
    instants = clock_aligned(SAMPLED_INTERVAL, 3)
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        for n, at in enumerate(instants):
            await tx.event(
                "Updated",
                "MeterValuePeriodic",
                meter_values=[meter_value(250.0 * n, "Sample.Periodic", at=at)],
            )
    rows = await _stored(server, transaction_id=tx.transaction_id)
    assert [(_at(r), r["context"], r["evse_id"], r["value"]) for r in rows] == [
        (timestamp(at), "Sample.Periodic", 1, 250.0 * n) for n, at in enumerate(instants)
    ]


async def test_TC_J_10_CSMS_sampled_ended(server: RunningCsms) -> None:
    rows = await _ended_with_meter_values(server, "Sample.Periodic")
    assert {row["signed_data"] for row in rows} == {None}


async def test_TC_J_11_CSMS_sampled_signed(server: RunningCsms) -> None:
    rows = await _ended_with_meter_values(server, "Sample.Periodic", SIGNED)
    assert [json.loads(row["signed_data"]) for row in rows] == [SIGNED] * 3
