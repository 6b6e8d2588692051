"""OCPP 2.0.1 Part 6 §3.7, F RemoteControl: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms.

Beyond the tool validations, csms links a remote start to the transaction it started: the
remoteStartId the station repeats in its TransactionEvent is read back from the stored events
(``GET /stations/{id}/remote-starts/{remoteStartId}``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action

from csms.blocks.remotecontrol.commands import (
    RemoteStartTransaction,
    TriggerMessage,
    UnlockConnector,
)
from csms.domain.commands import AcceptStatus, MessageTrigger, TriggerStatus, UnlockStatus
from csms.messages.schemas import SchemaKind, load_schema
from csms.rpc import OcppVersion
from tests.integration.conformance.octt import (
    STATION,
    VALID_TOKEN,
    Octt,
    Transaction,
    api_get,
    connected,
    connector_states,
    meter_value,
    operator,
    timestamp,
)
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]


@pytest.fixture
def database(database_url: str) -> str:
    """The remote start link is read from the stored events: on SQLite and on PostgreSQL."""
    return database_url


# Cases that store nothing this module reads back run on SQLite only (fast).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _remote_start(server: RunningCsms, octt: Octt, transaction_id: str | None = None) -> int:
    """Manual Action: the operator starts a transaction for the valid token; the OCTT accepts
    (with ``transaction_id`` when one runs already). Returns csms's remoteStartId."""
    command = RemoteStartTransaction(VALID_TOKEN["idToken"], evse_id=1, token_type="ISO14443")
    task = operator(server, command)
    answer: Payload = {"status": "Accepted"}
    if transaction_id is not None:
        answer["transactionId"] = transaction_id
    request = await octt.answer("RequestStartTransaction", answer)
    # Tool validation, step 1: the configured valid idToken and type.
    assert request["idToken"] == VALID_TOKEN
    result = await task
    assert result.status is AcceptStatus.ACCEPTED
    assert result.remote_start_id == request["remoteStartId"]
    assert result.transaction_id == transaction_id
    return int(request["remoteStartId"])


async def _remote_start_event(tx: Transaction, event_type: str, remote_start_id: int) -> Payload:
    """TransactionEvent triggerReason RemoteStart, transactionInfo.remoteStartId as csms gave."""
    info = {"transactionId": tx.transaction_id, "remoteStartId": remote_start_id}
    return await tx.event(
        event_type,
        "RemoteStart",
        id_token=VALID_TOKEN,
        extra={"transactionInfo": info},
    )


async def _linked(server: RunningCsms, remote_start_id: int, transaction_id: str) -> None:
    """csms links the remote start to the transaction it started (readable by the operator)."""
    link = await api_get(server, f"/remote-starts/{remote_start_id}")
    assert link["remote_start_id"] == remote_start_id
    assert [t["transaction_id"] for t in link["transactions"]] == [transaction_id]
    assert link["transactions"][0]["trigger_reason"] == "RemoteStart"


async def test_TC_F_01_CSMS_remote_start_cable_plugin_first(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.ev_connected_pre_session()  # State is EVConnectedPreSession
        remote_start_id = await _remote_start(server, octt, tx.transaction_id)
        await _remote_start_event(tx, "Updated", remote_start_id)
        tx.authorized = True
        await tx.energy_transfer_started()
    await _linked(server, remote_start_id, tx.transaction_id)


async def test_TC_F_02_CSMS_remote_start_first_authorize_remote_start_true(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        remote_start_id = await _remote_start(server, octt)
        authorized = await octt.call("Authorize", {"idToken": VALID_TOKEN})
        assert authorized["idTokenInfo"]["status"] == "Accepted"  # step 4
        tx = octt.transaction()
        await _remote_start_event(tx, "Started", remote_start_id)
        tx.authorized = True
        await tx.energy_transfer_started()
    await _linked(server, remote_start_id, tx.transaction_id)


async def test_TC_F_03_CSMS_remote_start_first_authorize_remote_start_false(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        remote_start_id = await _remote_start(server, octt)
        tx = octt.transaction()
        await _remote_start_event(tx, "Started", remote_start_id)
        tx.authorized = True
        await tx.energy_transfer_started()
    await _linked(server, remote_start_id, tx.transaction_id)


async def test_TC_F_04_CSMS_remote_start_first_cable_plugin_timeout(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        remote_start_id = await _remote_start(server, octt)
        tx = octt.transaction()
        await _remote_start_event(tx, "Started", remote_start_id)
        # After the EVConnectionTimeout the station deauthorizes the transaction (E03.FR.05).
        await tx.event("Updated", "EVConnectTimeout", charging_state="Idle")
        await octt.nothing_sent()
    await _linked(server, remote_start_id, tx.transaction_id)


async def test_remote_start_without_transaction_links_nothing(server: RunningCsms) -> None:
    """A remote start the station accepted but has not acted on yet: no transaction, and
    another remote start's event is not mistaken for it."""
    async with connected(server) as octt:
        await octt.booted()
        first = await _remote_start(server, octt)
        second = await _remote_start(server, octt)
        await _remote_start_event(octt.transaction(), "Started", first)
    assert (await api_get(server, f"/remote-starts/{second}"))["transactions"] == []
    await _linked(server, first, "OCTT-TX-1")


@sqlite_only
async def test_TC_F_06_CSMS_remote_unlock_connector_without_transaction(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        task = operator(server, UnlockConnector(evse_id=1, connector_id=1))
        request = await octt.answer("UnlockConnector", {"status": "Unlocked"})
        assert request == {"evseId": 1, "connectorId": 1}
        assert (await task).status is UnlockStatus.UNLOCKED


async def _trigger(
    server: RunningCsms,
    octt: Octt,
    requested: MessageTrigger,
    *,
    evse_id: int | None = None,
    answer: str = "Accepted",
) -> Payload:
    """The operator sends TriggerMessage; the OCTT answers ``answer``. Returns the request."""
    task = operator(server, TriggerMessage(requested, evse_id=evse_id))
    request = await octt.answer("TriggerMessage", {"status": answer})
    assert request["requestedMessage"] == requested.value
    if evse_id is None:
        assert "evse" not in request
    else:
        assert request["evse"] == {"id": evse_id}
    assert (await task).status is TriggerStatus(answer)
    return request


@sqlite_only
async def test_TC_F_11_CSMS_trigger_meter_values_specific_evse(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _trigger(server, octt, MessageTrigger.METER_VALUES, evse_id=1)
        values = {"evseId": 1, "meterValue": [meter_value(1234.0, "Trigger")]}
        assert await octt.call("MeterValues", values) == {}


@sqlite_only
async def test_TC_F_12_CSMS_trigger_meter_values_all_evse(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(((1, 1), (2, 1)))
        await _trigger(server, octt, MessageTrigger.METER_VALUES)
        for evse_id in (1, 2):  # "This step will be executed for every EVSE."
            values = {"evseId": evse_id, "meterValue": [meter_value(100.0 * evse_id, "Trigger")]}
            assert await octt.call("MeterValues", values) == {}


async def _triggered_transaction_event(tx: Transaction, *, with_evse: bool) -> Payload:
    return await tx.event(
        "Updated",
        "Trigger",
        charging_state="Charging",
        meter_values=[meter_value(500.0, "Trigger")],
        with_evse=with_evse,
    )


@sqlite_only
async def test_TC_F_13_CSMS_trigger_transaction_event_specific_evse(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        await _trigger(server, octt, MessageTrigger.TRANSACTION_EVENT, evse_id=1)
        assert "idTokenInfo" not in await _triggered_transaction_event(tx, with_evse=True)


@sqlite_only
async def test_TC_F_14_CSMS_trigger_transaction_event_all_evse(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(((1, 1), (2, 1)))
        first, second = octt.transaction("OCTT-TX-1", 1), octt.transaction("OCTT-TX-2", 2)
        await first.energy_transfer_started()
        await second.energy_transfer_started()
        await _trigger(server, octt, MessageTrigger.TRANSACTION_EVENT)
        for tx in (first, second):  # "This step will be executed for every EVSE."
            await _triggered_transaction_event(tx, with_evse=False)


@sqlite_only
async def test_TC_F_15_CSMS_trigger_log_status_notification_idle(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _trigger(server, octt, MessageTrigger.LOG_STATUS_NOTIFICATION)
        assert await octt.call("LogStatusNotification", {"status": "Idle"}) == {}


@sqlite_only
async def test_TC_F_18_CSMS_trigger_firmware_status_notification_idle(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _trigger(server, octt, MessageTrigger.FIRMWARE_STATUS_NOTIFICATION)
        assert await octt.call("FirmwareStatusNotification", {"status": "Idle"}) == {}


@sqlite_only
async def test_TC_F_20_CSMS_trigger_heartbeat(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _trigger(server, octt, MessageTrigger.HEARTBEAT)
        assert "currentTime" in await octt.call("Heartbeat", {})


@sqlite_only
async def test_TC_F_23_CSMS_trigger_status_notification_specific_evse_available(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _trigger(server, octt, MessageTrigger.STATUS_NOTIFICATION, evse_id=1)
        await octt.connector_status(1, 1, "Available")
    assert await connector_states(server) == {(1, 1): "Available"}


@sqlite_only
async def test_TC_F_24_CSMS_trigger_status_notification_specific_evse_occupied(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await octt.connector_status(1, 1, "Occupied")
        await _trigger(server, octt, MessageTrigger.STATUS_NOTIFICATION, evse_id=1)
        await octt.connector_status(1, 1, "Occupied")
    assert await connector_states(server) == {(1, 1): "Occupied"}


@sqlite_only
async def test_TC_F_27_CSMS_trigger_message_not_implemented(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _trigger(server, octt, MessageTrigger.SIGN_V2G_CERTIFICATE, answer="NotImplemented")
        await octt.nothing_sent()


def _schema_triggers() -> list[str]:
    schema = load_schema(OcppVersion.V201, "TriggerMessage", SchemaKind.REQUEST)
    assert schema is not None
    enum: list[str] = schema["definitions"]["MessageTriggerEnumType"]["enum"]
    return enum


@sqlite_only
async def test_every_2_0_1_trigger_goes_out_through_the_typed_command(
    server: RunningCsms,
) -> None:
    """F06: every requestedMessage value of 2.0.1 MessageTriggerEnumType is a MessageTrigger the
    typed TriggerMessage sends as is, schema-valid, to a 2.0.1 station."""
    triggers = _schema_triggers()
    assert len(triggers) == 11
    async with connected(server) as octt:
        await octt.booted()
        for value in triggers:
            await _trigger(server, octt, MessageTrigger(value), evse_id=1)
        assert await octt.call("Heartbeat", {})  # still connected, nothing refused


class RemoteStartStation(ChargePoint):  # type: ignore[misc]
    """The ``ocpp`` package's 2.0.1 station: accepts a remote start and starts the transaction
    with the remoteStartId it was given (triggerReason RemoteStart)."""

    @on(Action.request_start_transaction)  # type: ignore[untyped-decorator]
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **_: Any
    ) -> Any:
        return result201.RequestStartTransaction(status="Accepted")

    @after(Action.request_start_transaction)  # type: ignore[untyped-decorator]
    async def after_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int = 1, **_: Any
    ) -> None:
        # The ocpp package runs an @after hook as a task of its own: calling here is safe.
        await self.call(
            call201.TransactionEvent(
                event_type="Started",
                timestamp=timestamp(),
                trigger_reason="RemoteStart",
                seq_no=0,
                transaction_info={
                    "transaction_id": "PKG-TX-1",
                    "remote_start_id": remote_start_id,
                },
                evse={"id": evse_id, "connector_id": 1},
                id_token=id_token,
            )
        )


async def test_remote_start_linked_for_an_ocpp_package_station(server: RunningCsms) -> None:
    """The operator's remote start through the HTTP API (its own remoteStartId), answered by the
    ``ocpp`` package's station; csms links the transaction it started."""
    async with server.connect(STATION, subprotocols=["ocpp2.0.1"]) as ws:
        station = RemoteStartStation(STATION, ws)
        running = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call201.BootNotification(
                    charging_station={"model": "PKG", "vendor_name": "csms-tests"},
                    reason="PowerUp",
                )
            )
            assert boot.status == "Accepted"
            async with server.api() as api:
                answer = await api.post(
                    f"/api/v1/stations/{STATION}/call/RequestStartTransaction",
                    json={"idToken": VALID_TOKEN, "remoteStartId": 4242, "evseId": 1},
                )
            assert answer.json() == {"status": "Accepted"}
            for _ in range(100):
                link = await api_get(server, "/remote-starts/4242")
                if link["transactions"]:
                    break
                await asyncio.sleep(0.02)
        finally:
            running.cancel()
    assert [t["transaction_id"] for t in link["transactions"]] == ["PKG-TX-1"]
    assert link["transactions"][0]["id_token"] == VALID_TOKEN["idToken"]
