"""Every 2.0.1 functional block A–P end to end with the independent `ocpp` package's ChargePoint,
as 2.0.1 (``ocpp.v201``) and as 2.1 (``ocpp.v21``), against one running csms.

Each test plays one block's scenario from the station's side; operator actions go through the HTTP
API (the generic ``POST /api/v1/stations/{id}/call/{action}`` route and the read routes), and what
csms stored is read back through the API where a route exists. The station answers every CALL csms
sends with a canned, schema-valid answer and records it; the `ocpp` package validates every
message both ways against its own copy of the official schemas.

One csms serves the whole module (security profile 1: every station boots with Basic auth), so
the module stays fast; each test uses stations of its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from ocpp import v21, v201
from ocpp.routing import on
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms.blocks.authorization.commands import add_token
from csms.blocks.smartcharging.ev_schedule import PROFILE_ID_BASE
from csms.simulator.certificates import make_csr
from tests.integration.harness import RunningCsms, running_csms, settings_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

Payload = dict[str, Any]
VERSIONS = ["2.0.1", "2.1"]
TOKEN = "E2E-TOKEN-1"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
_ids = itertools.count(1)


def _now(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


# The answers the station gives to csms's CALLs (snake_case, as the `ocpp` package takes them).
ANSWERS: dict[str, Callable[[Payload], Payload]] = {
    "RequestStartTransaction": lambda kw: {"status": "Accepted"},
    "RequestStopTransaction": lambda kw: {"status": "Accepted"},
    "ChangeAvailability": lambda kw: {"status": "Accepted"},
    "ReserveNow": lambda kw: {"status": "Accepted"},
    "CancelReservation": lambda kw: {"status": "Accepted"},
    "SetChargingProfile": lambda kw: {"status": "Accepted"},
    "UpdateFirmware": lambda kw: {"status": "Accepted"},
    "TriggerMessage": lambda kw: {"status": "Accepted"},
    "GetLog": lambda kw: {"status": "Accepted", "filename": "station.log"},
    "SetDisplayMessage": lambda kw: {"status": "Accepted"},
    "GetDisplayMessages": lambda kw: {"status": "Accepted"},
    "ClearDisplayMessage": lambda kw: {"status": "Accepted"},
    "DataTransfer": lambda kw: {"status": "Accepted", "data": kw.get("data")},
    "SendLocalList": lambda kw: {"status": "Accepted"},
    "GetLocalListVersion": lambda kw: {"version_number": 3},
    "GetBaseReport": lambda kw: {"status": "Accepted"},
    "CertificateSigned": lambda kw: {"status": "Accepted"},
    "InstallCertificate": lambda kw: {"status": "Accepted"},
    "SetVariables": lambda kw: {
        "set_variable_result": [
            {
                "attribute_status": "Accepted",
                "component": item["component"],
                "variable": item["variable"],
            }
            for item in kw["set_variable_data"]
        ]
    },
    "SetVariableMonitoring": lambda kw: {
        "set_monitoring_result": [
            {
                "id": 40 + n,
                "status": "Accepted",
                "type": item["type"],
                "severity": item["severity"],
                "component": item["component"],
                "variable": item["variable"],
            }
            for n, item in enumerate(kw["set_monitoring_data"])
        ]
    },
}


def _handler(action: str, results: ModuleType) -> Callable[..., Any]:
    async def handle(self: Any, **kwargs: Any) -> Any:
        self.received.setdefault(action, []).append(kwargs)
        self.arrived.setdefault(action, asyncio.Event()).set()
        return getattr(results, action)(**ANSWERS[action](kwargs))

    handle.__name__ = f"on_{action}"
    return on(action)(handle)


def _station_class(base: type, results: ModuleType) -> type:
    methods = {f"on_{action}": _handler(action, results) for action in ANSWERS}
    return type(f"E2E{base.__module__}", (base,), methods)


STATIONS = {
    "2.0.1": (_station_class(v201.ChargePoint, result201), call201, "ocpp2.0.1"),
    "2.1": (_station_class(v21.ChargePoint, result21), call21, "ocpp2.1"),
}


class Driver:
    """One `ocpp` ChargePoint and the helpers a block scenario needs."""

    def __init__(self, cp: Any, calls: ModuleType, server: RunningCsms, sid: str) -> None:
        self.cp = cp
        self.calls = calls
        self.server = server
        self.sid = sid

    async def send(self, action: str, /, **kwargs: Any) -> Any:
        """Send a station CALL; return csms's answer (the `ocpp` package validated it)."""
        return await self.cp.call(getattr(self.calls, action)(**kwargs))

    async def operator(self, action: str, payload: Payload) -> Payload:
        """An operator's command through the HTTP API; returns the station's answer."""
        async with self.server.api() as api:
            response = await api.post(f"/api/v1/stations/{self.sid}/call/{action}", json=payload)
        assert response.status_code == 200, response.text
        body: Payload = response.json()
        return body

    async def read(self, path: str, **params: Any) -> Any:
        async with self.server.api() as api:
            response = await api.get(f"/api/v1/stations/{self.sid}{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def count(self, action: str) -> int:
        """How many ``action`` CALLs the station got so far."""
        return len(self.cp.received.get(action, ()))

    async def arrived(self, action: str, after: int = 0, timeout: float = 5.0) -> Payload:
        """Wait for csms's ``action`` CALL number ``after`` + 1; return what the station
        received (snake_case)."""
        async with asyncio.timeout(timeout):
            while self.count(action) <= after:
                event = self.cp.arrived.setdefault(action, asyncio.Event())
                event.clear()
                await event.wait()
        received: Payload = self.cp.received[action][after]
        return received

    async def notifications(self, action: str) -> list[Payload]:
        return [n["payload"] for n in await self.read("/notifications", action=action)]

    async def status(self, evse_id: int, status: str) -> None:
        await self.send(
            "StatusNotification",
            timestamp=_now(),
            connector_status=status,
            evse_id=evse_id,
            connector_id=1,
        )

    async def transaction_event(
        self, event_type: str, trigger: str, tx_id: str, seq_no: int, **extra: Any
    ) -> Any:
        info = {"transaction_id": tx_id, **extra.pop("info", {})}
        return await self.send(
            "TransactionEvent",
            event_type=event_type,
            timestamp=_now(),
            trigger_reason=trigger,
            seq_no=seq_no,
            transaction_info=info,
            **extra,
        )


def _meter(wh: float, context: str) -> list[Payload]:
    return [
        {
            "timestamp": _now(),
            "sampled_value": [
                {
                    "value": wh,
                    "context": context,
                    "measurand": "Energy.Active.Import.Register",
                    "unit_of_measure": {"unit": "Wh"},
                }
            ],
        }
    ]


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(module_dir: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(module_dir, heartbeat_interval=60, iso15118_provider="builtin")
    async with running_csms(settings) as running:
        assert running.csms.store is not None
        await add_token(running.csms.store.tokens, TOKEN, now=datetime.now(UTC))
        yield running


@asynccontextmanager
async def station(server: RunningCsms, version: str, block: str) -> AsyncIterator[Driver]:
    """A registered station of ``version``, connected with Basic auth and booted (Accepted)."""
    sid = f"E2E-{block}-{version}-{next(_ids)}"
    await server.add_station(sid)
    cls, calls, subprotocol = STATIONS[version]
    async with server.connect(sid, subprotocols=[subprotocol]) as ws:
        assert ws.subprotocol == subprotocol
        cp = cls(sid, ws)
        cp.received, cp.arrived = {}, {}
        runner = asyncio.create_task(cp.start())
        try:
            driver = Driver(cp, calls, server, sid)
            boot = await driver.send(
                "BootNotification",
                charging_station={"model": "E2E", "vendor_name": "ocpp-package"},
                reason="PowerUp",
            )
            assert boot.status == "Accepted"
            await driver.status(1, "Available")
            yield driver
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)


ID_TOKEN = {"id_token": TOKEN, "type": "ISO14443"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_A_security_events_and_certificate_signing(server: RunningCsms, version: str) -> None:
    """A02/A04: a security event is stored; a triggered SignCertificate gets a CertificateSigned
    signed by csms's CA."""
    async with station(server, version, "A") as st:
        await st.send("SecurityEventNotification", type="SettingSystemTime", timestamp=_now())
        answer = await st.operator(
            "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}
        )
        assert answer["status"] == "Accepted"
        signed = await st.send(
            "SignCertificate",
            csr=make_csr(st.sid, "csms-tests"),
            certificate_type="ChargingStationCertificate",
        )
        assert signed.status == "Accepted"
        chain = await st.arrived("CertificateSigned")
        assert chain["certificate_chain"].startswith("-----BEGIN CERTIFICATE-----")
        async with server.api() as api:
            events = (
                await api.get("/api/v1/security-events", params={"station_id": st.sid})
            ).json()
        assert "SettingSystemTime" in str(events)


@pytest.mark.parametrize("version", VERSIONS)
async def test_B_device_model_report_and_variables(server: RunningCsms, version: str) -> None:
    """B07/B05: GetBaseReport → NotifyReport stored as the device model; SetVariables answered."""
    async with st_context(server, version, "B") as st:
        answer = await st.operator(
            "GetBaseReport", {"requestId": 11, "reportBase": "FullInventory"}
        )
        assert answer["status"] == "Accepted"
        await st.send(
            "NotifyReport",
            request_id=11,
            generated_at=_now(),
            seq_no=0,
            tbc=False,
            report_data=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                    "variable_attribute": [
                        {"type": "Actual", "value": "60", "mutability": "ReadWrite"}
                    ],
                }
            ],
        )
        model = await st.read("/device-model")
        assert "HeartbeatInterval" in str(model)
        result = await st.operator(
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "attributeValue": "120",
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        )
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"


st_context = station


@pytest.mark.parametrize("version", VERSIONS)
async def test_C_authorization(server: RunningCsms, version: str) -> None:
    """C01: a known token is Accepted, an unknown one is not."""
    async with station(server, version, "C") as st:
        known = await st.send("Authorize", id_token=ID_TOKEN)
        assert known.id_token_info["status"] == "Accepted"
        unknown = await st.send("Authorize", id_token={"id_token": "NOBODY", "type": "ISO14443"})
        assert unknown.id_token_info["status"] != "Accepted"


@pytest.mark.parametrize("version", VERSIONS)
async def test_D_local_authorization_list(server: RunningCsms, version: str) -> None:
    """D01/D02: SendLocalList and GetLocalListVersion through the API."""
    async with station(server, version, "D") as st:
        sent = await st.operator(
            "SendLocalList",
            {
                "versionNumber": 3,
                "updateType": "Full",
                "localAuthorizationList": [
                    {
                        "idToken": {"idToken": TOKEN, "type": "ISO14443"},
                        "idTokenInfo": {"status": "Accepted"},
                    }
                ],
            },
        )
        assert sent["status"] == "Accepted"
        assert (await st.arrived("SendLocalList"))["version_number"] == 3
        assert (await st.operator("GetLocalListVersion", {}))["versionNumber"] == 3


@pytest.mark.parametrize("version", VERSIONS)
async def test_E_J_transaction_with_meter_values(server: RunningCsms, version: str) -> None:
    """E01–E06, J02: Started/Updated/Ended with the token checked (idTokenInfo) and the energy
    computed from Energy.Active.Import.Register."""
    async with station(server, version, "E") as st:
        tx = f"TX-E-{version}"
        started = await st.transaction_event(
            "Started",
            "Authorized",
            tx,
            0,
            id_token=ID_TOKEN,
            evse={"id": 1, "connector_id": 1},
            meter_value=_meter(1000, "Transaction.Begin"),
            info={"charging_state": "Charging"},
        )
        assert started.id_token_info["status"] == "Accepted"
        await st.transaction_event(
            "Updated", "MeterValuePeriodic", tx, 1, meter_value=_meter(2500, "Sample.Periodic")
        )
        await st.send("MeterValues", evse_id=1, meter_value=_meter(2600, "Sample.Periodic"))
        await st.transaction_event(
            "Ended",
            "EVCommunicationLost",
            tx,
            2,
            meter_value=_meter(4000, "Transaction.End"),
            info={"stopped_reason": "EVDisconnected"},
        )
        assert server.csms.store is not None
        stored = await server.csms.store.charging.get_v2(st.sid, tx)
        assert stored is not None and stored.energy_wh == 3000 and not stored.open


@pytest.mark.parametrize("version", VERSIONS)
async def test_F_remote_start_and_stop(server: RunningCsms, version: str) -> None:
    """F01/F03: RequestStartTransaction through the API, the station's Started names the
    remoteStartId, then RequestStopTransaction."""
    async with station(server, version, "F") as st:
        answer = await st.operator(
            "RequestStartTransaction",
            {"idToken": {"idToken": TOKEN, "type": "ISO14443"}, "remoteStartId": 77, "evseId": 1},
        )
        assert answer["status"] == "Accepted"
        tx = f"TX-F-{version}"
        await st.transaction_event(
            "Started",
            "RemoteStart",
            tx,
            0,
            id_token=ID_TOKEN,
            evse={"id": 1, "connector_id": 1},
            info={"remote_start_id": 77, "charging_state": "Charging"},
        )
        stop = await st.operator("RequestStopTransaction", {"transactionId": tx})
        assert stop["status"] == "Accepted"
        assert (await st.arrived("RequestStopTransaction"))["transaction_id"] == tx
        await st.transaction_event("Ended", "RemoteStop", tx, 1, info={"stopped_reason": "Remote"})


@pytest.mark.parametrize("version", VERSIONS)
async def test_G_availability(server: RunningCsms, version: str) -> None:
    """G03/G05: ChangeAvailability through the API; the connector's new state is stored."""
    async with station(server, version, "G") as st:
        answer = await st.operator(
            "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}
        )
        assert answer["status"] == "Accepted"
        await st.status(1, "Unavailable")
        await st.send(
            "NotifyEvent",
            generated_at=_now(),
            seq_no=0,
            event_data=[
                {
                    "event_id": 1,
                    "timestamp": _now(),
                    "trigger": "Delta",
                    "actual_value": "Unavailable",
                    "event_notification_type": "HardWiredNotification",
                    "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
                    "variable": {"name": "AvailabilityState"},
                }
            ],
        )
        stored = await st.read("")
        assert {(c["evse_id"], c["status"]) for c in stored["connectors"]} >= {(1, "Unavailable")}
        assert "AvailabilityState" in str(await st.read("/events"))


@pytest.mark.parametrize("version", VERSIONS)
async def test_H_reservation(server: RunningCsms, version: str) -> None:
    """H01/H02/H04: ReserveNow and CancelReservation through the API; ReservationStatusUpdate
    stored. Reservation ids are csms-wide (the stations of this module share one csms)."""
    reservation_id = 5 if version == "2.0.1" else 6
    async with station(server, version, "H") as st:
        reserve = {
            "id": reservation_id,
            "expiryDateTime": _now(timedelta(hours=1)),
            "idToken": {"idToken": TOKEN, "type": "ISO14443"},
            "evseId": 1,
        }
        assert (await st.operator("ReserveNow", reserve))["status"] == "Accepted"
        cancel = {"reservationId": reservation_id}
        assert (await st.operator("CancelReservation", cancel))["status"] == "Accepted"
        await st.send(
            "ReservationStatusUpdate",
            reservation_id=reservation_id,
            reservation_update_status="Removed",
        )
        assert await st.notifications("ReservationStatusUpdate")


@pytest.mark.parametrize("version", VERSIONS)
async def test_K_smart_charging_and_iso15118_schedule(server: RunningCsms, version: str) -> None:
    """K01/K12: a profile through the API, an external limit stored; K15: the EV's needs get a
    TxProfile for the transaction and the EV's schedule is Accepted."""
    async with station(server, version, "K") as st:
        profile = {
            "evseId": 0,
            "chargingProfile": {
                "id": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "ChargingStationMaxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [
                    {
                        "id": 1,
                        "startSchedule": _now(timedelta(hours=-1)),
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
                    }
                ],
            },
        }
        assert (await st.operator("SetChargingProfile", profile))["status"] == "Accepted"
        await st.send(
            "NotifyChargingLimit",
            charging_limit={"charging_limit_source": "EMS", "is_grid_critical": False},
            evse_id=1,
        )
        assert await st.notifications("NotifyChargingLimit")
        tx = f"TX-K-{version}"
        await st.transaction_event(
            "Started",
            "Authorized",
            tx,
            0,
            id_token=ID_TOKEN,
            evse={"id": 1, "connector_id": 1},
            info={"charging_state": "EVConnected"},
        )
        profiles_before = st.count("SetChargingProfile")
        charging_needs: Payload = {
            "requested_energy_transfer": "AC_three_phase",
            "departure_time": _now(timedelta(hours=6)),
            "ac_charging_parameters": {
                "energy_amount": 30_000,
                "ev_min_current": 6,
                "ev_max_current": 32,
                "ev_max_voltage": 400,
            },
        }
        extended: Payload = {}
        if version == "2.1":  # 2.1's extended fields, tolerated
            charging_needs |= {
                "control_mode": "ScheduledControl",
                "mobility_needs_mode": "EVCC",
                "v2x_charging_parameters": {"max_charge_power": 22_000},
            }
            extended = {"timestamp": _now()}
        needs = await st.send(
            "NotifyEVChargingNeeds",
            evse_id=1,
            max_schedule_tuples=5,
            charging_needs=charging_needs,
            **extended,
        )
        assert needs.status == "Accepted"
        received = await st.arrived("SetChargingProfile", after=profiles_before)
        tx_profile = received["charging_profile"]
        assert received["evse_id"] == 1
        assert tx_profile["id"] == PROFILE_ID_BASE + 1
        assert tx_profile["charging_profile_purpose"] == "TxProfile"
        assert tx_profile["transaction_id"] == tx
        schedule = tx_profile["charging_schedule"][0]
        assert all(p["limit"] <= 16 for p in schedule["charging_schedule_period"])
        ev_schedule = {
            "id": schedule["id"],
            "charging_rate_unit": schedule["charging_rate_unit"],
            "charging_schedule_period": schedule["charging_schedule_period"],
        }
        answer = await st.send(
            "NotifyEVChargingSchedule",
            time_base=schedule["start_schedule"],
            evse_id=1,
            charging_schedule=ev_schedule,
            **({"selected_charging_schedule_id": schedule["id"]} if version == "2.1" else {}),
        )
        assert answer.status == "Accepted"


@pytest.mark.parametrize("version", VERSIONS)
async def test_L_firmware_update(server: RunningCsms, version: str) -> None:
    """L01: UpdateFirmware through the API, then the station's status notifications."""
    async with station(server, version, "L") as st:
        update = {
            "requestId": 21,
            "firmware": {
                "location": "https://firmware.example.com/fw.bin",
                "retrieveDateTime": _now(),
            },
        }
        assert (await st.operator("UpdateFirmware", update))["status"] == "Accepted"
        for status in ("Downloading", "Downloaded", "Installing", "Installed"):
            await st.send("FirmwareStatusNotification", status=status, request_id=21)


@pytest.mark.parametrize("version", VERSIONS)
async def test_M_iso15118_certificates(server: RunningCsms, version: str) -> None:
    """M02/M05/M06: the station's certificate requests are answered (built-in provider), and a
    V2G root is installed through the API."""
    async with station(server, version, "M") as st:
        # the `ocpp` package spells the field differently in v201 and v21
        schema = "iso15118_schema_version" if version == "2.0.1" else "iso_15118_schema_version"
        install = await st.send(
            "Get15118EVCertificate",
            action="Install",
            exi_request="AAEC",
            **{schema: "urn:iso:15118:2:2013:MsgDef"},
        )
        assert install.status in ("Accepted", "Failed")
        status = await st.send(
            "GetCertificateStatus",
            ocsp_request_data={
                "hash_algorithm": "SHA256",
                "issuer_name_hash": "a" * 64,
                "issuer_key_hash": "b" * 64,
                "serial_number": "0123",
                "responder_url": "http://ocsp.example.com/",
            },
        )
        assert status.status in ("Accepted", "Failed")
        answer = await st.operator(
            "InstallCertificate", {"certificateType": "V2GRootCertificate", "certificate": PEM}
        )
        assert answer["status"] == "Accepted"


@pytest.mark.parametrize("version", VERSIONS)
async def test_N_diagnostics_monitoring_and_events(server: RunningCsms, version: str) -> None:
    """N01/N04/N07: GetLog and its status, a monitor set through the API, the event it raises
    stored, NotifyMonitoringReport stored."""
    async with station(server, version, "N") as st:
        log = await st.operator(
            "GetLog",
            {
                "logType": "DiagnosticsLog",
                "requestId": 31,
                "log": {"remoteLocation": "https://x.example.com/up"},
            },
        )
        assert log["status"] == "Accepted"
        await st.send("LogStatusNotification", status="Uploading", request_id=31)
        await st.send("LogStatusNotification", status="Uploaded", request_id=31)
        monitor = {
            "setMonitoringData": [
                {
                    "value": 10,
                    "type": "Delta",
                    "severity": 5,
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        }
        result = await st.operator("SetVariableMonitoring", monitor)
        assert result["setMonitoringResult"][0]["status"] == "Accepted"
        await st.send(
            "NotifyEvent",
            generated_at=_now(),
            seq_no=0,
            event_data=[
                {
                    "event_id": 2,
                    "timestamp": _now(),
                    "trigger": "Delta",
                    "actual_value": "120",
                    "cleared": False,
                    "variable_monitoring_id": 40,
                    "event_notification_type": "CustomMonitor",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ],
        )
        await st.send(
            "NotifyMonitoringReport",
            request_id=32,
            seq_no=0,
            generated_at=_now(),
            tbc=False,
            monitor=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                    "variable_monitoring": [
                        {
                            "id": 40,
                            "transaction": False,
                            "value": 10,
                            "type": "Delta",
                            "severity": 5,
                        }
                        | ({"event_notification_type": "CustomMonitor"} if version == "2.1" else {})
                    ],
                }
            ],
        )
        events = await st.read("/events")
        assert any(e.get("variable_monitoring_id") == 40 for e in events), events
        assert "HeartbeatInterval" in str(await st.read("/monitors"))


@pytest.mark.parametrize("version", VERSIONS)
async def test_O_display_messages(server: RunningCsms, version: str) -> None:
    """O01/O02/O05: Set, Get (→ NotifyDisplayMessages stored) and Clear through the API."""
    async with station(server, version, "O") as st:
        message = {
            "message": {
                "id": 9,
                "priority": "NormalCycle",
                "message": {"format": "UTF8", "content": "Welcome"},
            }
        }
        assert (await st.operator("SetDisplayMessage", message))["status"] == "Accepted"
        assert (await st.operator("GetDisplayMessages", {"requestId": 41}))["status"] == "Accepted"
        await st.send(
            "NotifyDisplayMessages",
            request_id=41,
            tbc=False,
            message_info=[
                {
                    "id": 9,
                    "priority": "NormalCycle",
                    "message": {"format": "UTF8", "content": "Welcome"},
                }
            ],
        )
        assert await st.notifications("NotifyDisplayMessages")
        assert (await st.operator("ClearDisplayMessage", {"id": 9}))["status"] == "Accepted"


@pytest.mark.parametrize("version", VERSIONS)
async def test_P_data_transfer(server: RunningCsms, version: str) -> None:
    """P01/P02: DataTransfer both ways."""
    async with station(server, version, "P") as st:
        answer = await st.send("DataTransfer", vendor_id="com.example.unknown", message_id="Hi")
        assert answer.status in ("UnknownVendorId", "UnknownMessageId", "Rejected")
        echoed = await st.operator("DataTransfer", {"vendorId": "com.example", "data": "ping"})
        assert echoed == {"status": "Accepted", "data": "ping"}
