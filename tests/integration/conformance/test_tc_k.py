"""OCPP 2.0.1 K15–K17, ISO 15118 smart charging: the OCTT's side over a real WebSocket.

The Core & Advanced Security edition of Part 6 has no TC_K case; it defines the Reusable State
ISO15118SmartCharging (Table 402) for a CSMS: NotifyEVChargingNeeds answered Accepted or
Processing, then a SetChargingProfile with a TxProfile for the transaction, then
NotifyEVChargingSchedule answered Accepted. These tests play it and the K15–K17 requirements
around it: the schedule stays within the limits installed on the EVSE and levels the load to the
EV's departure time; K16 and K17 renegotiations replace the TxProfile; an EV schedule above
csms's is Rejected; needs without a transaction are Rejected.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from csms.blocks.smartcharging.commands import SmartChargingCommands
from csms.blocks.smartcharging.ev_schedule import PROFILE_ID_BASE
from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingProfileStatus,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)
from tests.integration.conformance.octt import STATION, Octt, Transaction, connected, timestamp
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]


def commands(server: RunningCsms) -> SmartChargingCommands:
    assert server.csms.store is not None
    return SmartChargingCommands(server.csms.registry, server.csms.store.charging_profiles)


def station_max(amps: float, profile_id: int = 1) -> ChargingProfile:
    return ChargingProfile(
        id=profile_id,
        stack_level=0,
        purpose=ChargingProfilePurpose.STATION_MAX,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            ChargingRateUnit.A,
            (ChargingSchedulePeriod(0, amps),),
            start_schedule=datetime.now(UTC) - timedelta(hours=1),
        ),
    )


async def install_station_max(server: RunningCsms, octt: Octt, amps: float) -> None:
    """The operator sets a ChargingStationMaxProfile on EVSE 0; the OCTT accepts it."""
    task = asyncio.ensure_future(
        commands(server).set_charging_profile(STATION, 0, station_max(amps))
    )
    await octt.answer("SetChargingProfile", {"status": "Accepted"})
    assert await task is ChargingProfileStatus.ACCEPTED


def needs(
    *, energy: int = 50_000, departure: datetime | None = None, tuples: int | None = 10
) -> Payload:
    charging: Payload = {
        "requestedEnergyTransfer": "AC_three_phase",
        "acChargingParameters": {
            "energyAmount": energy,
            "evMinCurrent": 6,
            "evMaxCurrent": 32,
            "evMaxVoltage": 400,
        },
    }
    if departure is not None:
        charging["departureTime"] = timestamp(departure)
    payload: Payload = {"evseId": 1, "chargingNeeds": charging}
    if tuples is not None:
        payload["maxScheduleTuples"] = tuples
    return payload


async def started(octt: Octt) -> Transaction:
    """Booted, then Authorized and EVConnectedPreSession (Part 6 TC_K_53's Before)."""
    await octt.booted()
    tx = octt.transaction()
    await tx.ev_connected_pre_session()
    await tx.authorize()
    return tx


async def iso15118_smart_charging(octt: Octt, tx: Transaction, request: Payload) -> Payload:
    """Reusable State ISO15118SmartCharging steps 1-4: returns the TxProfile csms sent."""
    answer = await octt.call("NotifyEVChargingNeeds", request)
    assert answer["status"] in ("Accepted", "Processing"), answer
    assert not octt._inbox  # step 3 (SetChargingProfile) comes after step 2's answer
    message = await octt.answer("SetChargingProfile", {"status": "Accepted"})
    assert message["evseId"] == tx.evse_id
    profile: Payload = message["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["transactionId"] == tx.transaction_id
    return profile


async def test_ISO15118SmartCharging_CSMS_reusable_state(server: RunningCsms) -> None:
    """Table 402, with a departure in 8 h: 50 kWh over 8 h on three phases is 9.1 A, levelled
    (K15.FR.03), within the 16 A the station may draw; the EV's copy of it is Accepted
    (K15.FR.11), and csms sends nothing more after Charging."""
    async with connected(server) as octt:
        tx = await started(octt)
        await install_station_max(server, octt, 16)
        departure = datetime.now(UTC) + timedelta(hours=8)
        profile = await iso15118_smart_charging(octt, tx, needs(departure=departure))
        schedule = profile["chargingSchedule"][0]
        assert profile["id"] == PROFILE_ID_BASE + 1
        assert schedule["chargingRateUnit"] == "A"
        assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [9.1]
        assert abs(schedule["duration"] - 8 * 3600) <= 2
        answer = await octt.call(
            "NotifyEVChargingSchedule",
            {"timeBase": timestamp(), "evseId": 1, "chargingSchedule": schedule},
        )
        assert answer["status"] == "Accepted"
        await tx.event("Updated", "ChargingStateChanged", charging_state="Charging")
        await octt.nothing_sent(0.3)


async def test_ISO15118SmartCharging_CSMS_K15_no_departure_takes_the_limit(
    server: RunningCsms,
) -> None:
    """Without a departure time the EV gets the most the EVSE's limits allow (16 A here, not its
    32 A), for a day."""
    async with connected(server) as octt:
        tx = await started(octt)
        await install_station_max(server, octt, 16)
        profile = await iso15118_smart_charging(octt, tx, needs())
        schedule = profile["chargingSchedule"][0]
        assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [16]
        assert schedule["duration"] == 86_400


async def test_ISO15118SmartCharging_CSMS_K15_ev_schedule_above_the_profile_rejected(
    server: RunningCsms,
) -> None:
    """K15.FR.11: csms checks the EV's schedule itself; one above the TxProfile is Rejected."""
    async with connected(server) as octt:
        tx = await started(octt)
        profile = await iso15118_smart_charging(octt, tx, needs())
        assert profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 32
        greedy = {
            "id": 1,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 30_000}],  # 43 A
        }
        answer = await octt.call(
            "NotifyEVChargingSchedule",
            {"timeBase": timestamp(), "evseId": 1, "chargingSchedule": greedy},
        )
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "InvalidSchedule"


async def test_ISO15118SmartCharging_CSMS_K15_needs_without_transaction_rejected(
    server: RunningCsms,
) -> None:
    """No transaction runs on the EVSE: no TxProfile can be set, so Rejected (K15.FR.04)."""
    async with connected(server) as octt:
        await octt.booted()
        answer = await octt.call("NotifyEVChargingNeeds", needs())
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "TxNotFound"
        await octt.nothing_sent(0.3)


async def test_ISO15118SmartCharging_CSMS_K17_renegotiation_by_the_ev(server: RunningCsms) -> None:
    """K17: new needs during the transaction (less energy now) replace the TxProfile (same id)."""
    async with connected(server) as octt:
        tx = await started(octt)
        departure = datetime.now(UTC) + timedelta(hours=4)
        first = await iso15118_smart_charging(octt, tx, needs(departure=departure))
        second = await iso15118_smart_charging(octt, tx, needs(energy=10_000, departure=departure))
        assert second["id"] == first["id"]
        limits = [
            p["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] for p in (first, second)
        ]
        assert limits[1] < limits[0]
        assert limits[1] >= 6  # never below evMinCurrent


async def test_ISO15118SmartCharging_CSMS_K16_renegotiation_by_the_csms(
    server: RunningCsms,
) -> None:
    """K16: after the operator lowers the station's limit, csms plans again from the EV's needs
    and sends a new TxProfile within the new limit."""
    async with connected(server) as octt:
        tx = await started(octt)
        await iso15118_smart_charging(octt, tx, needs())
        await install_station_max(server, octt, 10)
        async with server.api() as api:  # the operator asks for it (HTTP API)
            task = asyncio.ensure_future(
                api.post(f"/api/v1/stations/{STATION}/evses/1/ev-schedule")
            )
            message = await octt.answer("SetChargingProfile", {"status": "Accepted"})
            response = await task
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["transaction_id"]) == ("Accepted", tx.transaction_id)
        assert body["periods"] == [{"start_period": 0, "limit": 10.0}]
        profile = message["chargingProfile"]
        assert profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 10
        assert profile["transactionId"] == tx.transaction_id


async def test_ISO15118SmartCharging_CSMS_K16_no_renegotiation_after_the_transaction(
    server: RunningCsms,
) -> None:
    """Once the transaction ended, its EV's needs are gone: a renegotiation sends nothing."""
    async with connected(server) as octt:
        tx = await started(octt)
        await iso15118_smart_charging(octt, tx, needs())
        await tx.event("Ended", "StopAuthorized", stopped_reason="Local", id_token=None)
        async with server.api() as api:
            response = await api.post(f"/api/v1/stations/{STATION}/evses/1/ev-schedule")
        assert response.status_code == 404, response.text
        assert response.json()["type"].endswith("no-ev-charging-needs")
        await octt.nothing_sent(0.2)


async def test_ISO15118SmartCharging_CSMS_needs_in_a_burst_cost_one_profile_at_a_time(
    server: RunningCsms,
) -> None:
    """Needs sent in a burst: csms plans one at a time and ends with a profile for the last."""
    async with connected(server) as octt:
        tx = await started(octt)
        departure = datetime.now(UTC) + timedelta(hours=4)
        for energy in (50_000, 30_000, 10_000):
            answer = await octt.call(
                "NotifyEVChargingNeeds", needs(energy=energy, departure=departure)
            )
            assert answer["status"] == "Accepted"
        profiles = []
        while True:
            try:
                message_id, request = await octt.expect("SetChargingProfile", timeout=1.0)
            except TimeoutError:
                break
            await octt.reply(message_id, {"status": "Accepted"})
            profiles.append(request)
            if len(profiles) > 3:
                break
        assert 1 <= len(profiles) <= 2, profiles
        last = profiles[-1]["chargingProfile"]
        assert last["transactionId"] == tx.transaction_id
        assert last["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 6  # 10 kWh
