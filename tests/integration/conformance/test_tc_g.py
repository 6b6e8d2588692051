"""OCPP 2.0.1 Part 6 §3.8, G Availability: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms."""

from __future__ import annotations

from typing import Any

from csms.blocks.availability.commands import ChangeAvailability
from csms.domain.commands import AvailabilityType, ChangeStatus
from tests.integration.conformance.octt import (
    Octt,
    api_get,
    connected,
    connector_states,
    operator,
)
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]
INOPERATIVE, OPERATIVE = AvailabilityType.INOPERATIVE, AvailabilityType.OPERATIVE
TWO_EVSES = ((1, 1), (2, 1))


async def _change(
    server: RunningCsms, octt: Octt, command: ChangeAvailability, answer: str = "Accepted"
) -> Payload:
    """Manual Action: the operator changes the availability; the OCTT answers ``answer``."""
    task = operator(server, command)
    request = await octt.answer("ChangeAvailability", {"status": answer})
    assert (await task).status is ChangeStatus(answer)
    return request


async def _unavailable_evse(server: RunningCsms, octt: Octt) -> None:
    """Reusable State Unavailable (Part 6 Table 392) for EVSE 1."""
    request = await _change(server, octt, ChangeAvailability(INOPERATIVE, evse_id=1))
    assert request == {"operationalStatus": "Inoperative", "evse": {"id": 1}}
    await octt.connector_status(1, 1, "Unavailable")


async def test_TC_G_03_CSMS_change_availability_evse_to_inoperative(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        await _unavailable_evse(server, octt)
    assert await connector_states(server) == {(1, 1): "Unavailable", (2, 1): "Available"}


async def test_TC_G_04_CSMS_change_availability_evse_to_operative(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        await octt.connector_status(1, 1, "Unavailable")  # Memory State: Unavailable for EVSE 1
        request = await _change(server, octt, ChangeAvailability(OPERATIVE, evse_id=1))
        assert request == {"operationalStatus": "Operative", "evse": {"id": 1}}
        await octt.connector_status(1, 1, "Available")
        evse = {"name": "EVSE", "evse": {"id": 1}}
        event = octt.notify_event(evse, "AvailabilityState", "Available")
        assert await octt.call("NotifyEvent", event) == {}
    assert await connector_states(server) == {(1, 1): "Available", (2, 1): "Available"}
    [event, *_] = await api_get(server, "/events")
    assert (event["component"], event["evse_id"], event["actual_value"]) == ("EVSE", 1, "Available")


async def _station_inoperative(server: RunningCsms, octt: Octt) -> None:
    request = await _change(server, octt, ChangeAvailability(INOPERATIVE))
    assert request == {"operationalStatus": "Inoperative"}
    for evse_id, connector_id in TWO_EVSES:
        await octt.connector_status(evse_id, connector_id, "Unavailable")


async def test_TC_G_05_CSMS_change_availability_station_to_inoperative(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        await _station_inoperative(server, octt)
    assert set((await connector_states(server)).values()) == {"Unavailable"}


async def test_TC_G_06_CSMS_change_availability_station_to_operative(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        await _station_inoperative(server, octt)  # Reusable State: station set to Unavailable
        request = await _change(server, octt, ChangeAvailability(OPERATIVE))
        assert request == {"operationalStatus": "Operative"}
        for evse_id, connector_id in TWO_EVSES:
            await octt.connector_status(evse_id, connector_id, "Available")
    assert set((await connector_states(server)).values()) == {"Available"}


async def test_TC_G_07_CSMS_change_availability_connector_to_inoperative(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        command = ChangeAvailability(INOPERATIVE, evse_id=1, connector_id=1)
        request = await _change(server, octt, command)
        assert request == {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 1}}
        await octt.connector_status(1, 1, "Unavailable")
    assert await connector_states(server) == {(1, 1): "Unavailable", (2, 1): "Available"}
    [event, *_] = await api_get(server, "/events")
    assert (event["component"], event["evse_id"], event["connector_id"]) == ("Connector", 1, 1)
    assert (event["variable"], event["actual_value"]) == ("AvailabilityState", "Unavailable")


async def test_TC_G_08_CSMS_change_availability_connector_to_operative(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        await octt.connector_status(1, 1, "Unavailable")  # Memory State: connector Unavailable
        command = ChangeAvailability(OPERATIVE, evse_id=1, connector_id=1)
        request = await _change(server, octt, command)
        assert request == {"operationalStatus": "Operative", "evse": {"id": 1, "connectorId": 1}}
        await octt.connector_status(1, 1, "Available")
    assert await connector_states(server) == {(1, 1): "Available", (2, 1): "Available"}


async def _finish_transaction(tx: Any) -> None:
    """Steps "StopAuthorized, EVConnectedPostSession, EVDisconnected" of G_11/G_14/G_17."""
    await tx.stop_authorized()
    await tx.ev_connected_post_session()
    await tx.ev_disconnected()


async def test_TC_G_11_CSMS_change_availability_evse_with_ongoing_transaction(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        tx = octt.transaction()
        await tx.energy_transfer_started()
        request = await _change(
            server, octt, ChangeAvailability(INOPERATIVE, evse_id=1), answer="Scheduled"
        )
        assert request == {"operationalStatus": "Inoperative", "evse": {"id": 1}}
        await _finish_transaction(tx)
        await octt.connector_status(1, 1, "Unavailable")
    # Post scenario validation: the state of every connector was received.
    assert await connector_states(server) == {(1, 1): "Unavailable", (2, 1): "Available"}


async def test_TC_G_14_CSMS_change_availability_station_with_ongoing_transaction(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        tx = octt.transaction()
        await tx.energy_transfer_started()
        request = await _change(server, octt, ChangeAvailability(INOPERATIVE), answer="Scheduled")
        assert request == {"operationalStatus": "Inoperative"}
        await octt.connector_status(2, 1, "Unavailable")  # the unoccupied connectors first
        await _finish_transaction(tx)
        await octt.connector_status(1, 1, "Unavailable")
    assert await connector_states(server) == {(1, 1): "Unavailable", (2, 1): "Unavailable"}


async def test_TC_G_17_CSMS_change_availability_connector_with_ongoing_transaction(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted(TWO_EVSES)
        tx = octt.transaction()
        await tx.energy_transfer_started()
        command = ChangeAvailability(INOPERATIVE, evse_id=1, connector_id=1)
        request = await _change(server, octt, command, answer="Scheduled")
        assert request == {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 1}}
        await _finish_transaction(tx)
        await octt.connector_status(1, 1, "Unavailable")
    assert await connector_states(server) == {(1, 1): "Unavailable", (2, 1): "Available"}


async def test_TC_G_20_CSMS_connector_lock_failure(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        lock = {"name": "ConnectorPlugRetentionLock", "evse": {"id": 1, "connectorId": 1}}
        event = octt.notify_event(lock, "Problem", "true")
        assert await octt.call("NotifyEvent", event) == {}
    [stored, *_] = await api_get(server, "/events")
    assert (stored["component"], stored["variable"], stored["actual_value"]) == (
        "ConnectorPlugRetentionLock",
        "Problem",
        "true",
    )
    [problem] = await api_get(
        server, "/device-model", component="ConnectorPlugRetentionLock", variable="Problem"
    )
    assert problem["value"] == "true"
