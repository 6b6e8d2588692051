"""Core operator commands and station-initiated Core messages, end to end with the `ocpp` package's
1.6 ChargePoint over loopback against a real csms, on SQLite and on PostgreSQL.

The station answers every CSMS command with an ``on(...)`` handler and records what it received;
triggered messages are sent from ``after(...)`` handlers, as a real station would. The commands run
through the typed command layer on the live gateway (``csms.registry``), and the test asserts what
the station received, what the command returned, and what csms stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action
from sqlalchemy import select

from csms.blocks.authorization.cache import ClearCache
from csms.blocks.availability.commands import ChangeAvailability
from csms.blocks.datatransfer.commands import DataTransfer
from csms.blocks.outbound import send
from csms.blocks.provisioning.commands import (
    Reset,
    change_configuration,
    get_configuration,
)
from csms.blocks.remotecontrol.commands import (
    ExtendedTriggerMessage,
    RemoteStartTransaction,
    RemoteStopTransaction,
    TriggerMessage,
    UnlockConnector,
)
from csms.container import utc_now
from csms.domain.commands import (
    MASKED,
    AcceptStatus,
    AvailabilityType,
    ChangeStatus,
    ConfigurationStatus,
    DataTransferStatus,
    MessageTrigger,
    ResetType,
    TriggerStatus,
    UnlockStatus,
)
from csms.domain.errors import CommandNotAllowed
from csms.domain.model import RegistrationStatus
from csms.storage.tables_configuration import station_configuration
from tests.integration.harness import RunningCsms, running_csms, settings_for

SECRET_KEY = "0123456789abcdef0123456789abcdef01234567"
TX_PROFILE = {
    "chargingProfileId": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
    },
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station(ChargePoint):  # type: ignore[misc]
    """A 1.6 station that answers every Core and Remote Trigger command and records them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.sent_after_trigger: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.config = {"HeartbeatInterval": "300", "AuthorizationKey": SECRET_KEY}

    def _got(self, action: str, **kwargs: Any) -> None:
        self.received.append((action, kwargs))

    @on(Action.change_availability)  # type: ignore[untyped-decorator]
    async def on_change_availability(self, **kwargs: Any) -> Any:
        self._got("ChangeAvailability", **kwargs)
        return result16.ChangeAvailability(status="Scheduled")

    @on(Action.change_configuration)  # type: ignore[untyped-decorator]
    async def on_change_configuration(self, key: str, value: str) -> Any:
        self._got("ChangeConfiguration", key=key)
        if key not in self.config:
            return result16.ChangeConfiguration(status="NotSupported")
        self.config[key] = value
        return result16.ChangeConfiguration(status="Accepted")

    @on(Action.clear_cache)  # type: ignore[untyped-decorator]
    async def on_clear_cache(self) -> Any:
        self._got("ClearCache")
        return result16.ClearCache(status="Accepted")

    @on(Action.get_configuration)  # type: ignore[untyped-decorator]
    async def on_get_configuration(self, key: list[str] | None = None) -> Any:
        # A non-compliant station that reports its AuthorizationKey (1.6-J errata 3.10 says not to).
        self._got("GetConfiguration", key=key)
        wanted = key or list(self.config)
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": False, "value": self.config[k]}
                for k in wanted
                if k in self.config
            ],
            unknown_key=[k for k in wanted if k not in self.config],
        )

    @on(Action.remote_start_transaction)  # type: ignore[untyped-decorator]
    async def on_remote_start(self, **kwargs: Any) -> Any:
        self._got("RemoteStartTransaction", **kwargs)
        return result16.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)  # type: ignore[untyped-decorator]
    async def on_remote_stop(self, transaction_id: int) -> Any:
        self._got("RemoteStopTransaction", transaction_id=transaction_id)
        return result16.RemoteStopTransaction(status="Rejected")

    @on(Action.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, type: str) -> Any:
        self._got("Reset", type=type)
        return result16.Reset(status="Accepted")

    @on(Action.unlock_connector)  # type: ignore[untyped-decorator]
    async def on_unlock(self, connector_id: int) -> Any:
        self._got("UnlockConnector", connector_id=connector_id)
        return result16.UnlockConnector(status="Unlocked" if connector_id == 1 else "UnlockFailed")

    @on(Action.data_transfer)  # type: ignore[untyped-decorator]
    async def on_data_transfer(self, vendor_id: str, **kwargs: Any) -> Any:
        self._got("DataTransfer", vendor_id=vendor_id, **kwargs)
        if vendor_id != "com.station":
            return result16.DataTransfer(status="UnknownVendorId")
        return result16.DataTransfer(status="Accepted", data="pong")

    @on(Action.trigger_message)  # type: ignore[untyped-decorator]
    async def on_trigger(self, requested_message: str, connector_id: int | None = None) -> Any:
        self._got("TriggerMessage", requested_message=requested_message, connector_id=connector_id)
        if requested_message in ("DiagnosticsStatusNotification", "FirmwareStatusNotification"):
            return result16.TriggerMessage(status="NotImplemented")
        return result16.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)  # type: ignore[untyped-decorator]
    async def after_trigger(self, requested_message: str, connector_id: int | None = None) -> None:
        await self._send_triggered(requested_message, connector_id)

    @on(Action.extended_trigger_message)  # type: ignore[untyped-decorator]
    async def on_extended_trigger(
        self, requested_message: str, connector_id: int | None = None
    ) -> Any:
        self._got("ExtendedTriggerMessage", requested_message=requested_message)
        if requested_message in ("Heartbeat", "BootNotification"):
            return result16.ExtendedTriggerMessage(status="Accepted")
        return result16.ExtendedTriggerMessage(status="Rejected")

    @after(Action.extended_trigger_message)  # type: ignore[untyped-decorator]
    async def after_extended_trigger(
        self, requested_message: str, connector_id: int | None = None
    ) -> None:
        await self._send_triggered(requested_message, connector_id)

    async def _send_triggered(self, requested: str, connector_id: int | None) -> None:
        message: Any
        if requested == "BootNotification":
            message = call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
        elif requested == "Heartbeat":
            message = call16.Heartbeat()
        elif requested == "StatusNotification":
            message = call16.StatusNotification(
                connector_id=connector_id or 0, error_code="NoError", status="Available"
            )
        elif requested == "MeterValues":
            message = call16.MeterValues(
                connector_id=connector_id or 0,
                meter_value=[{"timestamp": _now(), "sampled_value": [{"value": "1234"}]}],
            )
        else:
            return
        response = await self.call(message)
        await self.sent_after_trigger.put((requested, response))


@dataclasses.dataclass
class Live:
    server: RunningCsms
    station: Station


@pytest.fixture
async def csms_db(tmp_path: Path, database_url: str) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=database_url),
        server=dataclasses.replace(
            settings.server,
            data_transfer_handlers="org.csms.echo=csms.blocks.datatransfer.echo:EchoHandler",
        ),
    )
    async with running_csms(settings) as running:
        yield running


async def _start(server: RunningCsms, station_id: str) -> AsyncIterator[Station]:
    async with server.connect(station_id, subprotocols=["ocpp1.6"]) as ws:
        station = Station(station_id, ws)
        task = asyncio.create_task(station.start())
        try:
            yield station
        finally:
            task.cancel()


@pytest.fixture
async def live(csms_db: RunningCsms) -> AsyncIterator[Live]:
    await csms_db.add_station("CP1")
    async for station in _start(csms_db, "CP1"):
        boot = await station.call(
            call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
        )
        assert boot.status == "Accepted"
        yield Live(csms_db, station)


def _gateway(live: Live) -> Any:
    return live.server.csms.registry


async def test_core_commands_reach_the_station_and_return_typed_results(live: Live) -> None:
    gw = _gateway(live)
    availability = await send(gw, "CP1", ChangeAvailability(AvailabilityType.INOPERATIVE, 1))
    cache = await send(gw, "CP1", ClearCache())
    start = await send(
        gw, "CP1", RemoteStartTransaction("TAG-1", evse_id=1, charging_profile=TX_PROFILE)
    )
    stop = await send(gw, "CP1", RemoteStopTransaction("77"))
    hard = await send(gw, "CP1", Reset(ResetType.HARD))
    soft = await send(gw, "CP1", Reset(ResetType.SOFT))
    unlocked = await send(gw, "CP1", UnlockConnector(1))
    failed = await send(gw, "CP1", UnlockConnector(2))
    transfer = await send(gw, "CP1", DataTransfer("com.station", "Ping", {"n": 1}))
    unknown_vendor = await send(gw, "CP1", DataTransfer("com.other"))

    assert availability.status is ChangeStatus.SCHEDULED
    assert cache.status is AcceptStatus.ACCEPTED
    assert start.status is AcceptStatus.ACCEPTED
    assert stop.status is AcceptStatus.REJECTED
    assert (hard.status, soft.status) == (ChangeStatus.ACCEPTED, ChangeStatus.ACCEPTED)
    assert (unlocked.status, failed.status) == (UnlockStatus.UNLOCKED, UnlockStatus.UNLOCK_FAILED)
    assert (transfer.status, transfer.data) == (DataTransferStatus.ACCEPTED, "pong")
    assert unknown_vendor.status is DataTransferStatus.UNKNOWN_VENDOR_ID

    received = live.station.received
    assert received[0] == ("ChangeAvailability", {"connector_id": 1, "type": "Inoperative"})
    assert received[1] == ("ClearCache", {})
    action, remote_start = received[2]
    assert action == "RemoteStartTransaction"
    assert remote_start["id_tag"] == "TAG-1"
    assert remote_start["connector_id"] == 1
    assert remote_start["charging_profile"]["charging_profile_purpose"] == "TxProfile"
    assert received[3:8] == [
        ("RemoteStopTransaction", {"transaction_id": 77}),
        ("Reset", {"type": "Hard"}),
        ("Reset", {"type": "Soft"}),
        ("UnlockConnector", {"connector_id": 1}),
        ("UnlockConnector", {"connector_id": 2}),
    ]
    assert received[8] == (
        "DataTransfer",
        {"vendor_id": "com.station", "message_id": "Ping", "data": '{"n":1}'},
    )


async def test_configuration_is_stored_and_the_authorization_key_never_exposed(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = _gateway(live)
    store = live.server.csms.store
    assert store is not None
    report = await get_configuration(gw, store.configuration, "CP1", clock=utc_now)
    assert {k.key: k.value for k in report.keys} == {
        "HeartbeatInterval": "300",
        "AuthorizationKey": MASKED,
    }
    partial = await get_configuration(
        gw, store.configuration, "CP1", ["HeartbeatInterval", "NoSuchKey"], clock=utc_now
    )
    assert partial.unknown_keys == ("NoSuchKey",)
    changed = await change_configuration(
        gw, store.configuration, "CP1", "HeartbeatInterval", "60", clock=utc_now
    )
    refused = await change_configuration(
        gw, store.configuration, "CP1", "Unsupported", "1", clock=utc_now
    )
    assert (changed.status, refused.status) == (
        ConfigurationStatus.ACCEPTED,
        ConfigurationStatus.NOT_SUPPORTED,
    )
    assert live.station.config["HeartbeatInterval"] == "60"

    stored = {k.key: k for k in await store.configuration.keys("CP1")}
    assert set(stored) == {"AuthorizationKey", "HeartbeatInterval", "NoSuchKey"}
    assert stored["AuthorizationKey"].value == MASKED
    assert stored["HeartbeatInterval"].value == "60"
    assert stored["HeartbeatInterval"].readonly is False
    assert stored["HeartbeatInterval"].read_at is not None
    assert stored["HeartbeatInterval"].changed_at is not None
    assert stored["NoSuchKey"].unknown is True

    # Through the generic call endpoint too, the key is masked.
    async with live.server.api() as api:
        response = await api.post("/api/v1/stations/CP1/call/GetConfiguration", json={})
    assert response.status_code == 200, response.text
    values = {e["key"]: e["value"] for e in response.json()["configurationKey"]}
    assert values["AuthorizationKey"] == MASKED

    with pytest.raises(CommandNotAllowed):
        await change_configuration(
            gw, store.configuration, "CP1", "AuthorizationKey", "00" * 20, clock=utc_now
        )
    async with store.engine.connect() as conn:
        column = (await conn.execute(select(station_configuration.c.value))).scalars().all()
    assert SECRET_KEY not in column
    # Logged anywhere but by the station itself (the `ocpp` package logs its own frames).
    csms_side = [r.getMessage() for r in caplog.records if not r.name.startswith("ocpp")]
    assert csms_side
    assert not [line for line in csms_side if SECRET_KEY in line]


async def test_every_trigger_and_the_messages_it_makes_the_station_send(live: Live) -> None:
    gw = _gateway(live)
    station = live.station
    results = {
        trigger: await send(gw, "CP1", TriggerMessage(trigger, evse_id=1))
        for trigger in (
            MessageTrigger.BOOT_NOTIFICATION,
            MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION,
            MessageTrigger.FIRMWARE_STATUS_NOTIFICATION,
            MessageTrigger.HEARTBEAT,
            MessageTrigger.METER_VALUES,
            MessageTrigger.STATUS_NOTIFICATION,
        )
    }
    statuses = {t.value: r.status for t, r in results.items()}
    assert statuses == {
        "BootNotification": TriggerStatus.ACCEPTED,
        "DiagnosticsStatusNotification": TriggerStatus.NOT_IMPLEMENTED,
        "FirmwareStatusNotification": TriggerStatus.NOT_IMPLEMENTED,
        "Heartbeat": TriggerStatus.ACCEPTED,
        "MeterValues": TriggerStatus.ACCEPTED,
        "StatusNotification": TriggerStatus.ACCEPTED,
    }
    answered = dict(
        [await asyncio.wait_for(station.sent_after_trigger.get(), 10) for _ in range(4)]
    )
    assert answered["BootNotification"].status == "Accepted"
    assert answered["Heartbeat"].current_time
    async with live.server.api() as api:
        detail = (await api.get("/api/v1/stations/CP1")).json()
    assert [(c["evse_id"], c["status"]) for c in detail["connectors"]] == [(1, "Available")]

    extended = {
        trigger: (await send(gw, "CP1", ExtendedTriggerMessage(trigger))).status
        for trigger in (
            MessageTrigger.BOOT_NOTIFICATION,
            MessageTrigger.LOG_STATUS_NOTIFICATION,
            MessageTrigger.FIRMWARE_STATUS_NOTIFICATION,
            MessageTrigger.HEARTBEAT,
            MessageTrigger.METER_VALUES,
            MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE,
            MessageTrigger.STATUS_NOTIFICATION,
        )
    }
    assert extended[MessageTrigger.HEARTBEAT] is TriggerStatus.ACCEPTED
    assert extended[MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE] is TriggerStatus.REJECTED
    wire = [kw["requested_message"] for a, kw in station.received if a == "ExtendedTriggerMessage"]
    assert wire == [
        "BootNotification",
        "LogStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "SignChargePointCertificate",
        "StatusNotification",
    ]
    for _ in range(2):  # the BootNotification and Heartbeat it accepted
        requested, _response = await asyncio.wait_for(station.sent_after_trigger.get(), 10)
        assert requested in ("BootNotification", "Heartbeat")


async def test_station_data_transfer_is_answered_by_vendor_handlers(live: Live) -> None:
    station = live.station
    echo = await station.call(
        call16.DataTransfer(vendor_id="org.csms.echo", message_id="Echo", data="hello")
    )
    unknown_message = await station.call(
        call16.DataTransfer(vendor_id="ORG.CSMS.ECHO", message_id="Other")
    )
    unknown_vendor = await station.call(call16.DataTransfer(vendor_id="com.nobody"))
    assert (echo.status, echo.data) == ("Accepted", "hello")
    assert unknown_message.status == "UnknownMessageId"
    assert unknown_vendor.status == "UnknownVendorId"


async def test_pending_station_is_triggered_to_boot_when_accepted(csms_db: RunningCsms) -> None:
    await csms_db.add_station("CP-P", status=RegistrationStatus.PENDING)
    async for station in _start(csms_db, "CP-P"):
        boot = await station.call(
            call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
        )
        assert boot.status == "Pending"
        # While Pending the CSMS may configure and trigger, but not start or stop transactions.
        gw = csms_db.csms.registry
        assert (await send(gw, "CP-P", ClearCache())).status is AcceptStatus.ACCEPTED
        with pytest.raises(CommandNotAllowed):
            await send(gw, "CP-P", RemoteStartTransaction("TAG"))
        with pytest.raises(CommandNotAllowed):
            await send(gw, "CP-P", RemoteStopTransaction("1"))
        # A Pending station may send what it was triggered to send (1.6 §4.2), and it is stored.
        triggered = await send(
            gw, "CP-P", TriggerMessage(MessageTrigger.STATUS_NOTIFICATION, evse_id=2)
        )
        assert triggered.status is TriggerStatus.ACCEPTED
        requested, answer = await asyncio.wait_for(station.sent_after_trigger.get(), 10)
        assert requested == "StatusNotification"
        assert answer is not None  # a CALLRESULT, not a SecurityError CALLERROR
        async with csms_db.api() as api:
            detail = (await api.get("/api/v1/stations/CP-P")).json()
        assert [(c["evse_id"], c["status"]) for c in detail["connectors"]] == [(2, "Available")]

        async with csms_db.api() as api:
            response = await api.patch(
                "/api/v1/stations/CP-P", json={"registration_status": "Accepted"}
            )
        assert response.status_code == 200, response.text
        requested, reboot = await asyncio.wait_for(station.sent_after_trigger.get(), 10)
        assert (requested, reboot.status) == ("BootNotification", "Accepted")
        assert station.received[-1] == (
            "TriggerMessage",
            {"requested_message": "BootNotification", "connector_id": None},
        )
        # Accepted now: the station may send anything and be sent remote starts.
        assert (await station.call(call16.Heartbeat())).current_time
        start = await send(gw, "CP-P", RemoteStartTransaction("TAG"))
        assert start.status is AcceptStatus.ACCEPTED
