"""Station-initiated 2.x messages csms keeps whole, end to end with the `ocpp` package's 2.0.1 and
2.1 ChargePoint over loopback, on SQLite and PostgreSQL: each gets a schema-valid answer (never
NotSupported; the ocpp package validates what csms answers), is stored and is readable through
``GET /api/v1/stations/{id}/notifications``; ReservationStatusUpdate also ends the reservation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from csms.domain.reservations import ReservationStatus
from tests.integration.charging import csms_on
from tests.integration.harness import RunningCsms

BOOT = {"charging_station": {"model": "M", "vendor_name": "V"}, "reason": "PowerUp"}
NOW = "2026-12-06T12:00:00Z"
SCHEDULE = {
    "id": 1,
    "charging_rate_unit": "A",
    "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
}


@pytest.fixture(params=["ocpp2.0.1", "ocpp2.1"])
def subprotocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        yield running


def _messages(calls: Any, reservation_id: int) -> list[tuple[str, Any]]:
    return [
        (
            "ReportChargingProfiles",
            calls.ReportChargingProfiles(
                request_id=3,
                charging_limit_source="CSO",
                evse_id=1,
                charging_profile=[
                    {
                        "id": 10,
                        "stack_level": 0,
                        "charging_profile_purpose": "TxDefaultProfile",
                        "charging_profile_kind": "Absolute",
                        "charging_schedule": [{**SCHEDULE, "start_schedule": NOW}],
                    }
                ],
            ),
        ),
        (
            "NotifyChargingLimit",
            calls.NotifyChargingLimit(
                charging_limit={"charging_limit_source": "EMS", "is_grid_critical": True},
                evse_id=1,
            ),
        ),
        ("ClearedChargingLimit", calls.ClearedChargingLimit(charging_limit_source="EMS")),
        (
            "NotifyEVChargingNeeds",
            calls.NotifyEVChargingNeeds(
                evse_id=1,
                charging_needs={
                    "requested_energy_transfer": "AC_three_phase",
                    "ac_charging_parameters": {
                        "energy_amount": 20000,
                        "ev_min_current": 6,
                        "ev_max_current": 32,
                        "ev_max_voltage": 400,
                    },
                },
            ),
        ),
        (
            "NotifyEVChargingSchedule",
            calls.NotifyEVChargingSchedule(time_base=NOW, evse_id=1, charging_schedule=SCHEDULE),
        ),
        (
            "NotifyDisplayMessages",
            calls.NotifyDisplayMessages(
                request_id=4,
                message_info=[
                    {
                        "id": 1,
                        "priority": "NormalCycle",
                        "message": {"format": "UTF8", "content": "Welcome"},
                    }
                ],
            ),
        ),
        (
            "NotifyCustomerInformation",
            calls.NotifyCustomerInformation(
                data="card RFID-1: 3 sessions", seq_no=0, generated_at=NOW, request_id=5
            ),
        ),
        (
            "PublishFirmwareStatusNotification",
            calls.PublishFirmwareStatusNotification(
                status="Published", location=["http://lc.local/fw.bin"], request_id=6
            ),
        ),
        (
            "Get15118EVCertificate",
            calls.Get15118EVCertificate(
                action="Install",
                exi_request="AAEC",
                **{_schema_version_field(calls): "urn:iso:15118:2:2013:MsgDef"},
            ),
        ),
        (
            "GetCertificateStatus",
            calls.GetCertificateStatus(
                ocsp_request_data={
                    "hash_algorithm": "SHA256",
                    "issuer_name_hash": "a" * 64,
                    "issuer_key_hash": "b" * 64,
                    "serial_number": "01",
                    "responder_url": "http://ocsp.example/",
                }
            ),
        ),
        (
            "ReservationStatusUpdate",
            calls.ReservationStatusUpdate(
                reservation_id=reservation_id, reservation_update_status="Removed"
            ),
        ),
    ]


async def test_reports_are_answered_stored_and_listed(
    server: RunningCsms, subprotocol: str
) -> None:
    base, calls = (
        (ChargePoint201, call201) if subprotocol == "ocpp2.0.1" else (ChargePoint21, call21)
    )
    store = server.csms.store
    assert store is not None
    await server.add_station("RP-1")
    now = datetime.now(UTC)
    reservation = await store.reservations.create(
        station_id="RP-1", connector_id=1, id_token="T", parent_id_token=None,
        expiry_date=now + timedelta(hours=1), now=now,
    )  # fmt: skip
    await store.reservations.set_status(reservation.reservation_id, ReservationStatus.ACCEPTED, now)
    answers: dict[str, Any] = {}
    async with server.connect("RP-1", subprotocols=[subprotocol]) as ws:
        station = base("RP-1", ws)
        task = asyncio.create_task(station.start())
        try:
            assert (await station.call(base_boot(calls))).status == "Accepted"
            for action, message in _messages(calls, reservation.reservation_id):
                answers[action] = await station.call(message)  # a CALLERROR would raise
        finally:
            task.cancel()

    assert answers["NotifyEVChargingNeeds"].status == "Rejected"
    assert answers["NotifyEVChargingSchedule"].status == "Accepted"
    assert answers["Get15118EVCertificate"].status == "Failed"
    assert answers["GetCertificateStatus"].status == "Failed"
    ended = await store.reservations.get(reservation.reservation_id, datetime.now(UTC))
    assert ended is not None and ended.status is ReservationStatus.REMOVED

    async with server.api() as api:
        listed = (await api.get("/api/v1/stations/RP-1/notifications")).json()
        assert [n["action"] for n in reversed(listed)] == [a for a, _ in _messages(calls, 0)]
        limit = (
            await api.get(
                "/api/v1/stations/RP-1/notifications", params={"action": "NotifyChargingLimit"}
            )
        ).json()
        assert len(limit) == 1
        assert limit[0]["evse_id"] == 1
        assert limit[0]["payload"]["chargingLimit"] == {
            "chargingLimitSource": "EMS",
            "isGridCritical": True,
        }
        by_request = (
            await api.get("/api/v1/stations/RP-1/notifications", params={"request_id": 5})
        ).json()
        assert [(n["action"], n["payload"]["data"]) for n in by_request] == [
            ("NotifyCustomerInformation", "card RFID-1: 3 sessions")
        ]
        older = await api.get(
            "/api/v1/stations/RP-1/notifications", params={"before": listed[0]["id"], "limit": 2}
        )
        assert [n["id"] for n in older.json()] == [listed[1]["id"], listed[2]["id"]]
        assert (await api.get("/api/v1/stations/NOPE/notifications")).status_code == 404


async def test_a_reservation_update_for_another_station_changes_nothing(
    server: RunningCsms,
) -> None:
    store = server.csms.store
    assert store is not None
    await server.add_station("RP-A")
    await server.add_station("RP-B")
    now = datetime.now(UTC)
    theirs = await store.reservations.create(
        station_id="RP-A", connector_id=1, id_token="T", parent_id_token=None,
        expiry_date=now + timedelta(hours=1), now=now,
    )  # fmt: skip
    async with server.connect("RP-B", subprotocols=["ocpp2.0.1"]) as ws:
        station = ChargePoint201("RP-B", ws)
        task = asyncio.create_task(station.start())
        try:
            await station.call(base_boot(call201))
            await station.call(
                call201.ReservationStatusUpdate(
                    reservation_id=theirs.reservation_id, reservation_update_status="Expired"
                )
            )
            await station.call(
                call201.ReservationStatusUpdate(
                    reservation_id=999_999, reservation_update_status="Expired"
                )
            )
        finally:
            task.cancel()
    kept = await store.reservations.get(theirs.reservation_id, now)
    assert kept is not None and kept.status is ReservationStatus.REQUESTED
    assert len(await store.notifications.list("RP-B", action="ReservationStatusUpdate")) == 2


def _schema_version_field(calls: Any) -> str:
    """The ocpp package spells the field differently per version (its names, not the wire's)."""
    return "iso15118_schema_version" if calls is call201 else "iso_15118_schema_version"


def base_boot(calls: Any) -> Any:
    return calls.BootNotification(**BOOT)
