"""The 2.x equivalents of the Core commands, end to end with the `ocpp` package's 2.0.1 (and 2.1)
ChargePoint over loopback against a real csms: ChangeAvailability, ClearCache,
RequestStart/StopTransaction, Reset, UnlockConnector, TriggerMessage, DataTransfer (both
directions), GetVariables/SetVariables, and acceptance of a Pending station (B02).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v21.enums import Action as Action21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from csms.blocks.authorization.cache import ClearCache
from csms.blocks.availability.commands import ChangeAvailability
from csms.blocks.datatransfer.commands import DataTransfer
from csms.blocks.outbound import send
from csms.blocks.provisioning.commands import GetVariables, Reset, SetVariables
from csms.blocks.remotecontrol.commands import (
    RemoteStartTransaction,
    RemoteStopTransaction,
    TriggerMessage,
    UnlockConnector,
)
from csms.domain.commands import (
    MASKED,
    AcceptStatus,
    AvailabilityType,
    ChangeStatus,
    DataTransferStatus,
    MessageTrigger,
    ResetType,
    StatusInfo,
    TriggerStatus,
    UnlockStatus,
    VariableRef,
)
from csms.domain.model import RegistrationStatus
from tests.integration.harness import RunningCsms, running_csms, settings_for

PASSWORD_VALUE = "a-very-secret-basic-auth-password"
BOOT = {"charging_station": {"model": "M", "vendor_name": "V"}, "reason": "PowerUp"}


def station_class(subprotocol: str) -> Any:
    """The station for ``subprotocol``, on the `ocpp` package's ChargePoint of that version."""
    if subprotocol == "ocpp2.0.1":
        base, calls, results, Action = ChargePoint201, call201, result201, Action201
    else:
        base, calls, results, Action = ChargePoint21, call21, result21, Action21

    class Station(base):  # type: ignore[misc,valid-type]
        """A 2.x station that answers the commands and records them."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.received: list[tuple[str, dict[str, Any]]] = []
            self.triggered: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        @on(Action.change_availability)  # type: ignore[untyped-decorator]
        async def on_change_availability(self, **kwargs: Any) -> Any:
            self.received.append(("ChangeAvailability", kwargs))
            return results.ChangeAvailability(status="Accepted")

        @on(Action.clear_cache)  # type: ignore[untyped-decorator]
        async def on_clear_cache(self, **kwargs: Any) -> Any:
            self.received.append(("ClearCache", kwargs))
            return results.ClearCache(status="Rejected", status_info={"reason_code": "NoCache"})

        @on(Action.request_start_transaction)  # type: ignore[untyped-decorator]
        async def on_request_start(self, **kwargs: Any) -> Any:
            self.received.append(("RequestStartTransaction", kwargs))
            return results.RequestStartTransaction(status="Accepted", transaction_id="tx-1")

        @on(Action.request_stop_transaction)  # type: ignore[untyped-decorator]
        async def on_request_stop(self, **kwargs: Any) -> Any:
            self.received.append(("RequestStopTransaction", kwargs))
            return results.RequestStopTransaction(status="Accepted")

        @on(Action.reset)  # type: ignore[untyped-decorator]
        async def on_reset(self, **kwargs: Any) -> Any:
            self.received.append(("Reset", kwargs))
            return results.Reset(status="Scheduled")

        @on(Action.unlock_connector)  # type: ignore[untyped-decorator]
        async def on_unlock(self, **kwargs: Any) -> Any:
            self.received.append(("UnlockConnector", kwargs))
            return results.UnlockConnector(status="OngoingAuthorizedTransaction")

        @on(Action.data_transfer)  # type: ignore[untyped-decorator]
        async def on_data_transfer(self, **kwargs: Any) -> Any:
            self.received.append(("DataTransfer", kwargs))
            return results.DataTransfer(status="Accepted", data={"echo": kwargs.get("data")})

        @on(Action.get_variables)  # type: ignore[untyped-decorator]
        async def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> Any:
            self.received.append(("GetVariables", {"get_variable_data": get_variable_data}))
            values = {"HeartbeatInterval": "300", "BasicAuthPassword": PASSWORD_VALUE}
            return results.GetVariables(
                get_variable_result=[
                    {
                        "attribute_status": "Accepted"
                        if entry["variable"]["name"] in values
                        else "UnknownVariable",
                        "attribute_value": values.get(entry["variable"]["name"]),
                        "component": entry["component"],
                        "variable": entry["variable"],
                    }
                    for entry in get_variable_data
                ]
            )

        @on(Action.set_variables)  # type: ignore[untyped-decorator]
        async def on_set_variables(self, set_variable_data: list[dict[str, Any]]) -> Any:
            self.received.append(("SetVariables", {"set_variable_data": set_variable_data}))
            return results.SetVariables(
                set_variable_result=[
                    {
                        "attribute_status": "Accepted",
                        "component": entry["component"],
                        "variable": entry["variable"],
                    }
                    for entry in set_variable_data
                ]
            )

        @on(Action.trigger_message)  # type: ignore[untyped-decorator]
        async def on_trigger(self, requested_message: str, **kwargs: Any) -> Any:
            self.received.append(
                ("TriggerMessage", {"requested_message": requested_message, **kwargs})
            )
            if requested_message in ("BootNotification", "Heartbeat", "StatusNotification"):
                return results.TriggerMessage(status="Accepted")
            return results.TriggerMessage(status="NotImplemented")

        @after(Action.trigger_message)  # type: ignore[untyped-decorator]
        async def after_trigger(self, requested_message: str, **kwargs: Any) -> None:
            message: Any
            if requested_message == "BootNotification":
                message = calls.BootNotification(**BOOT)
            elif requested_message == "Heartbeat":
                message = calls.Heartbeat()
            elif requested_message == "StatusNotification":
                message = calls.StatusNotification(
                    timestamp="2026-12-01T12:00:00Z",
                    connector_status="Available",
                    evse_id=1,
                    connector_id=1,
                )
            else:
                return
            await self.triggered.put((requested_message, await self.call(message)))

    return Station


@pytest.fixture
async def csms201(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        server=dataclasses.replace(
            settings.server,
            data_transfer_handlers="org.csms.echo=csms.blocks.datatransfer.echo:EchoHandler",
        ),
    )
    async with running_csms(settings) as running:
        yield running


@pytest.fixture(params=["ocpp2.0.1", "ocpp2.1"])
def subprotocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _calls(subprotocol: str) -> Any:
    return call201 if subprotocol == "ocpp2.0.1" else call21


async def _station(server: RunningCsms, station_id: str, subprotocol: str) -> AsyncIterator[Any]:
    async with server.connect(station_id, subprotocols=[subprotocol]) as ws:
        assert ws.subprotocol == subprotocol
        station = station_class(subprotocol)(station_id, ws)
        task = asyncio.create_task(station.start())
        try:
            yield station
        finally:
            task.cancel()


async def test_2x_equivalents_of_the_core_commands(csms201: RunningCsms, subprotocol: str) -> None:
    calls = _calls(subprotocol)
    await csms201.add_station("CS2")
    async for station in _station(csms201, "CS2", subprotocol):
        assert (await station.call(calls.BootNotification(**BOOT))).status == "Accepted"
        gw = csms201.csms.registry
        availability = await send(
            gw, "CS2", ChangeAvailability(AvailabilityType.INOPERATIVE, evse_id=1, connector_id=1)
        )
        cache = await send(gw, "CS2", ClearCache())
        start = await send(gw, "CS2", RemoteStartTransaction("TAG", evse_id=1, remote_start_id=9))
        stop = await send(gw, "CS2", RemoteStopTransaction("tx-1"))
        reset = await send(gw, "CS2", Reset(ResetType.ON_IDLE))
        unlock = await send(gw, "CS2", UnlockConnector(1, 1))
        transfer = await send(gw, "CS2", DataTransfer("com.station", "Ping", {"n": [1, 2]}))

        assert availability.status is ChangeStatus.ACCEPTED
        assert (cache.status, cache.status_info) == (AcceptStatus.REJECTED, StatusInfo("NoCache"))
        assert (start.status, start.transaction_id, start.remote_start_id) == (
            AcceptStatus.ACCEPTED,
            "tx-1",
            9,
        )
        assert stop.status is AcceptStatus.ACCEPTED
        assert reset.status is ChangeStatus.SCHEDULED
        assert unlock.status is UnlockStatus.ONGOING_AUTHORIZED_TRANSACTION
        assert (transfer.status, transfer.data) == (
            DataTransferStatus.ACCEPTED,
            {"echo": {"n": [1, 2]}},
        )
        assert [action for action, _ in station.received] == [
            "ChangeAvailability",
            "ClearCache",
            "RequestStartTransaction",
            "RequestStopTransaction",
            "Reset",
            "UnlockConnector",
            "DataTransfer",
        ]
        received = dict(station.received)
        assert received["ChangeAvailability"] == {
            "operational_status": "Inoperative",
            "evse": {"id": 1, "connector_id": 1},
        }
        assert received["RequestStartTransaction"] == {
            "id_token": {"id_token": "TAG", "type": "Central"},
            "remote_start_id": 9,
            "evse_id": 1,
        }
        assert received["Reset"] == {"type": "OnIdle"}
        assert received["UnlockConnector"] == {"evse_id": 1, "connector_id": 1}

        # Station -> CSMS DataTransfer, answered by the configured vendor handler.
        echo = await station.call(
            calls.DataTransfer(vendor_id="org.csms.echo", message_id="Echo", data={"x": 1})
        )
        assert (echo.status, echo.data) == ("Accepted", {"x": 1})
        unknown = await station.call(calls.DataTransfer(vendor_id="com.nobody"))
        assert unknown.status == "UnknownVendorId"


async def test_variables_and_triggers(csms201: RunningCsms, subprotocol: str) -> None:
    calls = _calls(subprotocol)
    await csms201.add_station("CS3")
    async for station in _station(csms201, "CS3", subprotocol):
        assert (await station.call(calls.BootNotification(**BOOT))).status == "Accepted"
        gw = csms201.csms.registry
        interval = VariableRef("OCPPCommCtrlr", "HeartbeatInterval")
        password = VariableRef("SecurityCtrlr", "BasicAuthPassword")
        got = await send(gw, "CS3", GetVariables((interval, password, VariableRef("X", "Unknown"))))
        assert [(r.ref.variable, r.status, r.value) for r in got] == [
            ("HeartbeatInterval", "Accepted", "300"),
            ("BasicAuthPassword", "Accepted", MASKED),
            ("Unknown", "UnknownVariable", None),
        ]
        async with csms201.api() as api:
            response = await api.post(
                "/api/v1/stations/CS3/call/GetVariables",
                json={
                    "getVariableData": [
                        {
                            "component": {"name": "SecurityCtrlr"},
                            "variable": {"name": "BasicAuthPassword"},
                        }
                    ]
                },
            )
        assert response.status_code == 200, response.text
        assert response.json()["getVariableResult"][0]["attributeValue"] == MASKED
        set_result = await send(gw, "CS3", SetVariables(((interval, "60"),)))
        assert [r.status for r in set_result] == ["Accepted"]

        statuses = {
            t: (await send(gw, "CS3", TriggerMessage(t, evse_id=1, connector_id=1))).status
            for t in (
                MessageTrigger.HEARTBEAT,
                MessageTrigger.STATUS_NOTIFICATION,
                MessageTrigger.TRANSACTION_EVENT,
            )
        }
        assert statuses == {
            MessageTrigger.HEARTBEAT: TriggerStatus.ACCEPTED,
            MessageTrigger.STATUS_NOTIFICATION: TriggerStatus.ACCEPTED,
            MessageTrigger.TRANSACTION_EVENT: TriggerStatus.NOT_IMPLEMENTED,
        }
        for _ in range(2):
            await asyncio.wait_for(station.triggered.get(), 10)
        async with csms201.api() as api:
            detail = (await api.get("/api/v1/stations/CS3")).json()
        assert [(c["evse_id"], c["connector_id"], c["status"]) for c in detail["connectors"]] == [
            (1, 1, "Available")
        ]


async def test_pending_station_is_triggered_to_boot_when_accepted(
    csms201: RunningCsms, subprotocol: str
) -> None:
    calls = _calls(subprotocol)
    await csms201.add_station("CS4", status=RegistrationStatus.PENDING)
    async for station in _station(csms201, "CS4", subprotocol):
        assert (await station.call(calls.BootNotification(**BOOT))).status == "Pending"
        async with csms201.api() as api:
            response = await api.patch(
                "/api/v1/stations/CS4", json={"registration_status": "Accepted"}
            )
        assert response.status_code == 200, response.text
        requested, boot = await asyncio.wait_for(station.triggered.get(), 10)
        assert (requested, boot.status) == ("BootNotification", "Accepted")
        assert station.received == [("TriggerMessage", {"requested_message": "BootNotification"})]
