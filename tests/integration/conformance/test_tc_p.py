"""OCPP 2.0.1 Part 6 §3.17, P DataTransfer: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms (P_03 with the `ocpp` package's 2.0.1 ChargePoint)."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v201 import ChargePoint
from ocpp.v201 import call as call201

from csms.storage.tables import transaction_events
from tests.integration.conformance.octt import STATION, SUBPROTOCOL, connected, timestamp
from tests.integration.harness import RunningCsms
from tests.unit.storage.db import fetch


@pytest.fixture
def database(database_url: str) -> str:
    """What these cases check is what csms stored: on SQLite and on PostgreSQL."""
    return database_url


CUSTOM = {"vendor_id": "com.octt", "note": "custom data"}
CUSTOM_WIRE = {"vendorId": "com.octt", "note": "custom data"}  # as the ocpp package spells it


async def test_TC_P_02_CSMS_data_transfer_unknown_vendor(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        response = await octt.call(
            "DataTransfer", {"vendorId": "com.octt.unknown", "messageId": "OcttMessage"}
        )
    assert response["status"] in ("UnknownVendorId", "UnknownMessageId", "Rejected")


async def test_TC_P_03_CSMS_receive_custom_data(server: RunningCsms) -> None:
    async with server.connect(STATION, subprotocols=[SUBPROTOCOL]) as ws:
        station = ChargePoint(STATION, ws)
        runner = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call201.BootNotification(
                    charging_station={"model": "OCTT-Model", "vendor_name": "OCTT-Vendor"},
                    reason="PowerUp",
                )
            )
            assert boot.status == "Accepted"
            status = await station.call(
                call201.StatusNotification(
                    timestamp=timestamp(),
                    connector_status="Available",
                    evse_id=1,
                    connector_id=1,
                    custom_data=CUSTOM,
                )
            )
            event = await station.call(
                call201.TransactionEvent(
                    event_type="Started",
                    timestamp=timestamp(),
                    trigger_reason="CablePluggedIn",
                    seq_no=0,
                    transaction_info={
                        "transaction_id": "OCTT-TX-P03",
                        "charging_state": "EVConnected",
                        "custom_data": CUSTOM,
                    },
                    evse={"id": 1, "connector_id": 1},
                    custom_data=CUSTOM,
                )
            )
        finally:
            runner.cancel()
    assert status is not None and event is not None  # both answered with a CALLRESULT
    assert server.csms.store is not None
    [stored] = await fetch(server.csms.store.engine, transaction_events, station_id=STATION)
    assert stored["raw"]["customData"] == CUSTOM_WIRE
    assert stored["raw"]["transactionInfo"]["customData"] == CUSTOM_WIRE


async def test_TC_P_03_CSMS_custom_data_raw_frames(server: RunningCsms) -> None:
    """The same with raw frames: customData with vendor properties beyond vendorId."""
    custom = {"vendorId": "com.octt", "extra": {"nested": [1, 2]}}
    async with connected(server) as octt:
        await octt.booted()
        notification = octt.status_notification(1, 1, "Available")
        assert await octt.call("StatusNotification", {**notification, "customData": custom}) == {}
        tx = octt.transaction("OCTT-TX-P03")
        await tx.event(
            "Started",
            "CablePluggedIn",
            charging_state="EVConnected",
            extra={
                "customData": custom,
                "transactionInfo": {"transactionId": "OCTT-TX-P03", "customData": custom},
            },
        )
