"""Every typed command (intent) of the catalogue over real sockets, on SQLite and PostgreSQL.

For each intent in :data:`csms.api.intents.catalog.INTENTS` and each OCPP version the `ocpp`
package speaks (1.6, 2.0.1, 2.1), the intent is POSTed to ``/api/v1/stations/{id}/commands/
{intent}``: where the version has it, the station (an `ocpp` ChargePoint, which validates every
CALL against its own copy of the official schemas) must receive exactly the expected OCPP actions
with the expected payload fields, the API must answer with what the station said, and what the
intent records must be readable through the matching GET route; where the version lacks it, the
API answers the 422 problem ``not-supported-by-version`` and nothing reaches the station.

The parametrisation is derived from the catalogue, so an intent added without a case here fails.
The outcomes of a CALLERROR (502), a station that does not answer (504) and an offline station
(409) are checked on a few intents, and csms's own simulator answers a handful of 2.x intents.

One csms per database serves the whole module; one station per OCPP version serves every case.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import httpx
import pytest
import pytest_asyncio
from ocpp import v16, v21, v201
from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms.api.intents.catalog import INTENTS
from csms.blocks.authorization.commands import add_token
from csms.rpc import OcppVersion
from tests.firmware_signing import self_signed
from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.integration.simulator.helpers import make_agent, running
from tests.postgres import DATABASES, migrated_database

pytestmark = pytest.mark.asyncio(loop_scope="module")

Payload = dict[str, Any]
VERSIONS = ("1.6", "2.0.1", "2.1")
PROBLEM = "urn:csms:problem:"
TOKEN = "EVERY-INTENT-1"
# A real certificate: csms refuses text that is not PEM X.509 before sending it (see REFUSALS).
PEM = self_signed("every-intent root", timedelta(days=1))[1]
NOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
HASH = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "a" * 64,
    "issuerKeyHash": "b" * 64,
    "serialNumber": "0123abcd",
}
FIRMWARE = b"every-intent firmware image"
_ids = itertools.count(100)


def _now(delta: timedelta = timedelta()) -> datetime:
    return (datetime.now(UTC) + delta).replace(microsecond=0)


def _wire(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


# --- the stations ----------------------------------------------------------------------------


def _composite16(p: Payload) -> Payload:
    return {
        "status": "Accepted",
        "connector_id": p["connectorId"],
        "schedule_start": _wire(_now()),
        "charging_schedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }


def _composite2x(p: Payload) -> Payload:
    return {
        "status": "Accepted",
        "schedule": {
            "evseId": p["evseId"],
            "duration": p["duration"],
            "scheduleStart": _wire(_now()),
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }


def _variable_results(p: Payload, key: str, field: str, **extra: Any) -> list[Payload]:
    return [
        {"attributeStatus": "Accepted", "component": e["component"], "variable": e["variable"]}
        | extra
        for e in p[key]
    ]


# What a station answers to each CALL csms sends (top-level snake_case, as the `ocpp` package's
# call_result classes take it), keyed by action; a "1.6:" key overrides for 1.6.
ANSWERS: dict[str, Callable[[Payload], Payload]] = {
    "RemoteStartTransaction": lambda p: {"status": "Accepted"},
    "RequestStartTransaction": lambda p: {"status": "Accepted"},
    "RemoteStopTransaction": lambda p: {"status": "Accepted"},
    "RequestStopTransaction": lambda p: {"status": "Accepted"},
    "Reset": lambda p: {"status": "Accepted"},
    "UnlockConnector": lambda p: {"status": "Unlocked"},
    "ChangeAvailability": lambda p: {"status": "Scheduled"},
    "TriggerMessage": lambda p: {"status": "Accepted"},
    "ExtendedTriggerMessage": lambda p: {"status": "Accepted"},
    "ClearCache": lambda p: {"status": "Accepted"},
    "DataTransfer": lambda p: {"status": "Accepted", "data": "pong"},
    "GetTransactionStatus": lambda p: {"messages_in_queue": True, "ongoing_indicator": True},
    "CostUpdated": lambda p: {},
    "ReserveNow": lambda p: {"status": "Accepted"},
    "CancelReservation": lambda p: {"status": "Accepted"},
    "SetChargingProfile": lambda p: {"status": "Accepted"},
    "ClearChargingProfile": lambda p: {"status": "Accepted"},
    "1.6:GetCompositeSchedule": _composite16,
    "GetCompositeSchedule": _composite2x,
    "GetChargingProfiles": lambda p: {"status": "NoProfiles"},
    "GetConfiguration": lambda p: {
        "configuration_key": [{"key": k, "readonly": False, "value": "300"} for k in p["key"]],
        "unknown_key": [],
    },
    "ChangeConfiguration": lambda p: {"status": "Accepted"},
    "GetVariables": lambda p: {
        "get_variable_result": _variable_results(
            p, "getVariableData", "", attributeValue="300", attributeType="Actual"
        )
    },
    "SetVariables": lambda p: {
        "set_variable_result": _variable_results(p, "setVariableData", "", attributeType="Actual")
    },
    "GetBaseReport": lambda p: {"status": "Accepted"},
    "GetReport": lambda p: {"status": "EmptyResultSet"},
    "SetNetworkProfile": lambda p: {"status": "Accepted"},
    "SetVariableMonitoring": lambda p: {
        "set_monitoring_result": [
            {
                "id": 40 + n,
                "status": "Accepted",
                "type": e["type"],
                "severity": e["severity"],
                "component": e["component"],
                "variable": e["variable"],
            }
            for n, e in enumerate(p["setMonitoringData"])
        ]
    },
    "ClearVariableMonitoring": lambda p: {
        "clear_monitoring_result": [{"id": i, "status": "Accepted"} for i in p["id"]]
    },
    "SetMonitoringBase": lambda p: {"status": "Accepted"},
    "SetMonitoringLevel": lambda p: {"status": "Accepted"},
    "GetMonitoringReport": lambda p: {"status": "Accepted"},
    "CustomerInformation": lambda p: {"status": "Accepted"},
    "SetDisplayMessage": lambda p: {"status": "Accepted"},
    "GetDisplayMessages": lambda p: {"status": "Unknown"},
    "ClearDisplayMessage": lambda p: {"status": "Accepted"},
    "1.6:UpdateFirmware": lambda p: {},
    "UpdateFirmware": lambda p: {"status": "Accepted"},
    "SignedUpdateFirmware": lambda p: {"status": "Accepted"},
    "PublishFirmware": lambda p: {"status": "Accepted"},
    "UnpublishFirmware": lambda p: {"status": "Unpublished"},
    "GetDiagnostics": lambda p: {"file_name": "diagnostics.zip"},
    "GetLog": lambda p: {"status": "Accepted", "filename": "station.log"},
    "InstallCertificate": lambda p: {"status": "Accepted"},
    "DeleteCertificate": lambda p: {"status": "Accepted"},
    "1.6:GetInstalledCertificateIds": lambda p: {
        "status": "Accepted",
        "certificate_hash_data": [HASH],
    },
    "GetInstalledCertificateIds": lambda p: {
        "status": "Accepted",
        "certificate_hash_data_chain": [
            {"certificateType": "CSMSRootCertificate", "certificateHashData": HASH}
        ],
    },
    "1.6:GetLocalListVersion": lambda p: {"list_version": 3},
    "GetLocalListVersion": lambda p: {"version_number": 3},
    "SendLocalList": lambda p: {"status": "Accepted"},
}


class Recorder:
    """What a station received (action, camelCase payload, in order) and how it answers.

    ``fail`` makes the station answer an action with a CALLERROR; ``hold`` makes it wait (no
    answer) until the event is set."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Payload]] = []
        self.seen: set[str] = set()  # every action ever received (never cleared)
        self.fail: set[str] = set()
        self.hold: dict[str, asyncio.Event] = {}
        self.current: Payload = {}


def _station_class(base: type, results: ModuleType, v16_answers: bool) -> type:
    def handler(action: str) -> Callable[..., Any]:
        async def handle(self: Any, **_: Any) -> Any:
            rec: Recorder = self.recorder
            payload = rec.current
            if action in rec.fail:
                raise InternalError(description="told to fail")
            held = rec.hold.get(action)
            if held is not None:
                await held.wait()
            answer = ANSWERS.get(f"1.6:{action}" if v16_answers else "") or ANSWERS[action]
            return getattr(results, action)(**answer(payload))

        handle.__name__ = f"on_{action}"
        routed: Callable[..., Any] = on(action)(handle)
        return routed

    actions = {a for intent in INTENTS for _, a in intent.sends}
    methods: dict[str, Any] = {
        f"on_{a}": handler(a)
        for a in actions
        if hasattr(results, a) and (a in ANSWERS or f"1.6:{a}" in ANSWERS)
    }

    async def _handle_call(self: Any, msg: Any) -> None:
        self.recorder.received.append((msg.action, msg.payload))
        self.recorder.seen.add(msg.action)
        self.recorder.current = msg.payload
        await base._handle_call(self, msg)  # type: ignore[attr-defined]

    methods["_handle_call"] = _handle_call
    return type(f"EveryIntent{base.__module__.replace('.', '_')}", (base,), methods)


STATIONS: dict[str, tuple[type, ModuleType, str]] = {
    "1.6": (_station_class(v16.ChargePoint, result16, True), call16, "ocpp1.6"),
    "2.0.1": (_station_class(v201.ChargePoint, result201, False), call201, "ocpp2.0.1"),
    "2.1": (_station_class(v21.ChargePoint, result21, False), call21, "ocpp2.1"),
}


@dataclasses.dataclass
class Station:
    sid: str
    version: str
    cp: Any
    recorder: Recorder


@asynccontextmanager
async def connected(server: RunningCsms, version: str, name: str) -> AsyncIterator[Station]:
    """A registered `ocpp` ChargePoint of ``version``, connected with Basic auth and booted."""
    sid = f"EVERY-{name}-{version}-{next(_ids)}"
    await server.add_station(sid)
    cls, calls, subprotocol = STATIONS[version]
    async with server.connect(sid, subprotocols=[subprotocol]) as ws:
        assert ws.subprotocol == subprotocol
        cp = cls(sid, ws)
        cp.recorder = Recorder()
        runner = asyncio.create_task(cp.start())
        try:
            if version == "1.6":
                boot = await cp.call(
                    calls.BootNotification(charge_point_model="M", charge_point_vendor="V")
                )
            else:
                boot = await cp.call(
                    calls.BootNotification(
                        charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                    )
                )
            assert boot.status == "Accepted"
            yield Station(sid, version, cp, cp.recorder)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)


# --- the module's csms -----------------------------------------------------------------------


@dataclasses.dataclass
class World:
    server: RunningCsms
    api: httpx.AsyncClient
    stations: dict[str, Station]
    firmware: Payload


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """One csms (on SQLite, then PostgreSQL) and one connected station per version."""
    root = tmp_path_factory.mktemp("every-intent")
    async with migrated_database(request, root) as url:
        settings = settings_for(root)
        settings = dataclasses.replace(
            settings, database=dataclasses.replace(settings.database, url=url)
        )
        async with running_csms(settings) as server, server.api() as api:
            assert server.csms.store is not None
            firmware = await api.post(
                "/api/v1/firmware", params={"filename": "fw.bin"}, content=FIRMWARE
            )
            assert firmware.status_code == 201, firmware.text
            await add_token(
                server.csms.store.tokens, TOKEN, now=datetime.now(UTC), token_type="ISO14443"
            )
            async with (
                connected(server, "1.6", "ALL") as s16,
                connected(server, "2.0.1", "ALL") as s201,
                connected(server, "2.1", "ALL") as s21,
            ):
                yield World(server, api, {"1.6": s16, "2.0.1": s201, "2.1": s21}, firmware.json())


# --- the cases -------------------------------------------------------------------------------


@dataclasses.dataclass
class Ctx:
    world: World
    station: Station
    seen_before: frozenset[str] = frozenset()  # what the station had received before the POST

    @property
    def version(self) -> str:
        return self.station.version

    @property
    def v16(self) -> bool:
        return self.station.version == "1.6"

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.world.api.get(
            f"/api/v1/stations/{self.station.sid}{path}", params=params
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def command(self, intent: str, body: Payload) -> Payload:
        response = await self.world.api.post(
            f"/api/v1/stations/{self.station.sid}/commands/{intent}", json=body
        )
        assert response.status_code == 200, response.text
        answer: Payload = response.json()
        return answer


Body = Callable[[Ctx], Awaitable[Payload]]
Expected = Callable[[Ctx], list[tuple[str, Payload]]]
Check = Callable[[Ctx, Payload], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Case:
    """``body``: the request (per station); ``sent``: the actions the station must receive, in
    order, each with a subset of its payload; ``answer``: a subset of the API's answer;
    ``recorded``: checks what the intent stored, through the GET routes; ``refused_body``: the
    body sent to a version that lacks the intent, where building ``body`` needs that station."""

    body: Payload | Body
    sent: Expected
    answer: Any
    recorded: Check | None = None
    refused_body: Payload | None = None


def per_version(v16: list[tuple[str, Payload]], v2x: list[tuple[str, Payload]]) -> Expected:
    return lambda ctx: v16 if ctx.v16 else v2x


def every(action: str, payload: Payload) -> Expected:
    return lambda ctx: [(action, payload)]


PROFILE = {
    "id": 7,
    "stack_level": 1,
    "purpose": "TxDefaultProfile",
    "kind": "Absolute",
    "schedule": {
        "charging_rate_unit": "A",
        "periods": [{"start_period": 0, "limit": 16.0}],
        "start_schedule": "2026-01-01T00:00:00Z",
    },
}
HEARTBEAT_REF = {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}
EXPIRY = _now(timedelta(hours=2))


async def _reserve_body(ctx: Ctx) -> Payload:
    return {"evse_id": 1, "id_token": TOKEN, "expiry_date": EXPIRY.isoformat()}


async def _reserved(ctx: Ctx, answer: Payload) -> None:
    listed = await ctx.get("/reservations")
    mine = [r for r in listed["items"] if r["reservation_id"] == answer["reservation_id"]]
    assert [(r["status"], r["id_token"]) for r in mine] == [("Accepted", TOKEN)], listed


async def _cancel_body(ctx: Ctx) -> Payload:
    reserved = await ctx.command("reserve", await _reserve_body(ctx))
    ctx.station.recorder.received.clear()
    return {"reservation_id": reserved["reservation_id"]}


async def _cancelled(ctx: Ctx, answer: Payload) -> None:
    [(_, sent)] = ctx.station.recorder.received
    listed = await ctx.get("/reservations")
    [mine] = [r for r in listed["items"] if r["reservation_id"] == sent["reservationId"]]
    assert mine["status"] == "Cancelled"


async def _profile_desired(ctx: Ctx, answer: Payload) -> None:
    profiles = await ctx.get("/charging-profiles")
    desired = [(p["profile"]["id"], p["status"]) for p in profiles["desired"]]
    assert (7, "Accepted") in desired, profiles


async def _clear_body(ctx: Ctx) -> Payload:
    await ctx.command("set-charging-profile", {"evse_id": 1, "profile": PROFILE})
    ctx.station.recorder.received.clear()
    return {"profile_id": 7}


async def _profile_cleared(ctx: Ctx, answer: Payload) -> None:
    profiles = await ctx.get("/charging-profiles")
    assert 7 not in [p["profile"]["id"] for p in profiles["installed"]], profiles


async def _composite_kept(ctx: Ctx, answer: Payload) -> None:
    profiles = await ctx.get("/charging-profiles")
    [in_force] = [c for c in profiles["composite"] if c["evse_id"] == 1]
    assert in_force["status"] == "Accepted"
    assert in_force["schedule"]["periods"][0]["limit"] == 16.0


async def _config_body(ctx: Ctx) -> Payload:
    return {"keys": ["HeartbeatInterval"]} if ctx.v16 else {"variables": [HEARTBEAT_REF]}


async def _set_config_body(ctx: Ctx) -> Payload:
    if ctx.v16:
        return {"key": "MeterValueSampleInterval", "value": "30"}
    ref = {"component": "SampledDataCtrlr", "variable": "TxUpdatedInterval"}
    return {"variables": [{"ref": ref, "value": "30"}]}


async def _config_reported(ctx: Ctx, answer: Payload) -> None:
    state = await ctx.get("/configuration")
    found = state["keys"] if ctx.v16 else state["variables"]
    [entry] = [v for v in found if "HeartbeatInterval" in v["name"]]
    assert entry["reported"]["value"] == "300", state


async def _config_desired(ctx: Ctx, answer: Payload) -> None:
    state = await ctx.get("/configuration")
    found = state["keys"] if ctx.v16 else state["variables"]
    name = "MeterValueSampleInterval" if ctx.v16 else "TxUpdatedInterval"
    [entry] = [v for v in found if name in v["name"]]
    assert (entry["desired"]["value"], entry["desired"]["status"]) == ("30", "Accepted"), state
    assert entry["reported"]["value"] == "30"


MONITOR = {
    "key": {"component": "EVSE", "variable": "Power", "evse_id": 1},
    "type": "UpperThreshold",
    "value": 22000,
    "severity": 5,
}


async def _monitor_set(ctx: Ctx, answer: Payload) -> None:
    monitors = await ctx.get("/monitors")
    items = monitors["items"] if isinstance(monitors, dict) else monitors
    assert any(m.get("monitor_id", m.get("id")) == 40 for m in items), monitors


async def _clear_monitor_body(ctx: Ctx) -> Payload:
    await ctx.command("set-variable-monitoring", {"settings": [MONITOR]})
    ctx.station.recorder.received.clear()
    return {"monitor_ids": [40]}


async def _monitor_cleared(ctx: Ctx, answer: Payload) -> None:
    monitors = await ctx.get("/monitors")
    items = monitors["items"] if isinstance(monitors, dict) else monitors
    assert not any(m.get("monitor_id", m.get("id")) == 40 for m in items), monitors


def _firmware_body(**extra: Any) -> Body:
    async def body(ctx: Ctx) -> Payload:
        return {"firmware_id": ctx.world.firmware["id"], **extra}

    return body


def _file_request(action: Callable[[Ctx], str], **fields: Any) -> Check:
    """The newest file request of the station is the one just sent, with its requestId."""

    async def check(ctx: Ctx, answer: Payload) -> None:
        [newest, *_] = await ctx.get("/file-requests")
        assert newest["action"] == action(ctx), newest
        assert contains(newest, fields), newest
        [(_, sent)] = ctx.station.recorder.received
        if "requestId" in sent:
            assert newest["id"] == sent["requestId"], (newest, sent)

    return check


def _firmware_request(action: str) -> Check:
    async def check(ctx: Ctx, answer: Payload) -> None:
        await _file_request(lambda _: action, firmware_id=ctx.world.firmware["id"])(ctx, answer)

    return check


async def _installed_kept(ctx: Ctx, answer: Payload) -> None:
    certificates = await ctx.get("/certificates")
    assert [c["hash_data"]["serial_number"] for c in certificates] == [HASH["serialNumber"]]


async def _delete_body(ctx: Ctx) -> Payload:
    listed = await ctx.command("get-installed-certificate-ids", {"certificate_types": []})
    assert listed["status"] == "Accepted"
    assert await ctx.get("/certificates"), "the station reported one certificate"
    ctx.station.recorder.received.clear()
    return DELETE_BODY


async def _deleted_kept(ctx: Ctx, answer: Payload) -> None:
    assert await ctx.get("/certificates") == []


def _local_list_sent(ctx: Ctx) -> list[tuple[str, Payload]]:
    """The station's list limits are read before the first list it is sent (1.6 keys
    LocalAuthListMaxLength/SendLocalListMaxLength; 2.x LocalAuthListCtrlr variables)."""
    first = "SendLocalList" not in ctx.seen_before
    if ctx.v16:
        limits = ("GetConfiguration", {"key": ["LocalAuthListMaxLength", "SendLocalListMaxLength"]})
        sent = (
            "SendLocalList",
            {"updateType": "Full", "localAuthorizationList": [{"idTag": TOKEN}]},
        )
    else:
        limits = ("GetVariables", {})
        sent = (
            "SendLocalList",
            {
                "updateType": "Full",
                "localAuthorizationList": [{"idToken": {"idToken": TOKEN, "type": "ISO14443"}}],
            },
        )
    return [limits, sent] if first else [sent]


async def _list_version_body(ctx: Ctx) -> Payload:
    sent = await ctx.command("send-local-list", {"entries": [{"id_token": TOKEN}]})
    assert sent["status"] == "Accepted" and sent["version"] != 3
    ctx.station.recorder.received.clear()
    return {}


async def _list_version_kept(ctx: Ctx, answer: Payload) -> None:
    """The station says it holds version 3, not the one csms sent: out of sync."""
    response = await ctx.world.api.get(f"/api/v1/tokens/ISO14443/{TOKEN}")
    assert response.status_code == 200, response.text
    holders = {h["station_id"]: h for h in response.json()["local_lists"]}
    mine = holders[ctx.station.sid]
    assert mine["station_version"] == 3 and mine["state"] != "in_sync", mine


async def _local_list_kept(ctx: Ctx, answer: Payload) -> None:
    response = await ctx.world.api.get(f"/api/v1/tokens/ISO14443/{TOKEN}")
    assert response.status_code == 200, response.text
    holders = {h["station_id"]: h for h in response.json()["local_lists"]}
    mine = holders[ctx.station.sid]
    assert (mine["state"], mine["version"]) == ("in_sync", answer["version"]), mine
    assert mine["station_version"] == answer["version"]


DELETE_BODY = {
    "hash_algorithm": HASH["hashAlgorithm"],
    "issuer_name_hash": HASH["issuerNameHash"],
    "issuer_key_hash": HASH["issuerKeyHash"],
    "serial_number": HASH["serialNumber"],
}
TRIGGER = {"requestedMessage": "Heartbeat"}

CASES: dict[str, Case] = {
    "start": Case(
        {"id_token": TOKEN, "evse_id": 1, "remote_start_id": 42},
        per_version(
            [("RemoteStartTransaction", {"idTag": TOKEN, "connectorId": 1})],
            [
                (
                    "RequestStartTransaction",
                    {
                        "idToken": {"idToken": TOKEN, "type": "Central"},
                        "evseId": 1,
                        "remoteStartId": 42,
                    },
                )
            ],
        ),
        {"status": "Accepted"},
    ),
    "stop": Case(
        {"transaction_id": "1234"},
        per_version(
            [("RemoteStopTransaction", {"transactionId": 1234})],
            [("RequestStopTransaction", {"transactionId": "1234"})],
        ),
        {"status": "Accepted"},
    ),
    "reset": Case(
        {"type": "hard"},
        per_version([("Reset", {"type": "Hard"})], [("Reset", {"type": "Immediate"})]),
        {"status": "Accepted"},
    ),
    "unlock": Case(
        {"evse_id": 1, "connector_id": 1},
        per_version(
            [("UnlockConnector", {"connectorId": 1})],
            [("UnlockConnector", {"evseId": 1, "connectorId": 1})],
        ),
        {"status": "Unlocked"},
    ),
    "change-availability": Case(
        {"availability": "Inoperative", "evse_id": 1},
        per_version(
            [("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})],
            [("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}})],
        ),
        {"status": "Scheduled"},
    ),
    "trigger": Case(
        {"requested": "Heartbeat"}, every("TriggerMessage", TRIGGER), {"status": "Accepted"}
    ),
    "extended-trigger": Case(
        {"requested": "Heartbeat"},
        per_version([("ExtendedTriggerMessage", TRIGGER)], [("TriggerMessage", TRIGGER)]),
        {"status": "Accepted"},
    ),
    "clear-cache": Case({}, every("ClearCache", {}), {"status": "Accepted"}),
    "data-transfer": Case(
        {"vendor_id": "org.example", "message_id": "ping", "data": "ping"},
        every("DataTransfer", {"vendorId": "org.example", "messageId": "ping", "data": "ping"}),
        {"status": "Accepted", "data": "pong"},
    ),
    "get-transaction-status": Case(
        {"transaction_id": "tx-1"},
        every("GetTransactionStatus", {"transactionId": "tx-1"}),
        {"messages_in_queue": True, "ongoing": True},
    ),
    "cost-updated": Case(
        {"transaction_id": "tx-1", "total_cost": 12.5},
        every("CostUpdated", {"transactionId": "tx-1", "totalCost": 12.5}),
        None,  # CostUpdatedResponse has no fields
    ),
    "reserve": Case(
        _reserve_body,
        per_version(
            [("ReserveNow", {"connectorId": 1, "idTag": TOKEN})],
            # The type csms knows the token by (OCTT TC_H reservation state: "idToken.type
            # <Configured valid_idtoken_type>"), not Central: a station may match both.
            [("ReserveNow", {"evseId": 1, "idToken": {"idToken": TOKEN, "type": "ISO14443"}})],
        ),
        {"status": "Accepted"},
        _reserved,
    ),
    "cancel-reservation": Case(
        _cancel_body,
        every("CancelReservation", {}),
        {"status": "Accepted"},
        _cancelled,
    ),
    "set-charging-profile": Case(
        {"evse_id": 1, "profile": PROFILE},
        per_version(
            [
                (
                    "SetChargingProfile",
                    {
                        "connectorId": 1,
                        "csChargingProfiles": {"chargingProfileId": 7, "stackLevel": 1},
                    },
                )
            ],
            [("SetChargingProfile", {"evseId": 1, "chargingProfile": {"id": 7, "stackLevel": 1}})],
        ),
        {"status": "Accepted"},
        _profile_desired,
    ),
    "clear-charging-profile": Case(
        _clear_body,
        per_version(
            [("ClearChargingProfile", {"id": 7})],
            [("ClearChargingProfile", {"chargingProfileId": 7})],
        ),
        {"status": "Accepted"},
        _profile_cleared,
    ),
    "get-composite-schedule": Case(
        {"evse_id": 1, "duration": 3600},
        per_version(
            [("GetCompositeSchedule", {"connectorId": 1, "duration": 3600})],
            [("GetCompositeSchedule", {"evseId": 1, "duration": 3600})],
        ),
        {"status": "Accepted"},
        _composite_kept,
    ),
    "get-charging-profiles": Case(
        {"request_id": 5, "evse_id": 1, "purpose": "TxDefaultProfile"},
        every(
            "GetChargingProfiles",
            {
                "requestId": 5,
                "evseId": 1,
                "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"},
            },
        ),
        {"status": "NoProfiles"},
    ),
    "get-configuration": Case(
        _config_body,
        per_version(
            [("GetConfiguration", {"key": ["HeartbeatInterval"]})],
            [
                (
                    "GetVariables",
                    {
                        "getVariableData": [
                            {
                                "component": {"name": "OCPPCommCtrlr"},
                                "variable": {"name": "HeartbeatInterval"},
                            }
                        ]
                    },
                )
            ],
        ),
        lambda ctx: (
            {"keys": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}
            if ctx.v16
            else {"variables": [{"status": "Accepted", "value": "300"}]}
        ),
        _config_reported,
    ),
    "set-configuration": Case(
        _set_config_body,
        per_version(
            [("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"})],
            [
                (
                    "SetVariables",
                    {
                        "setVariableData": [
                            {
                                "attributeValue": "30",
                                "component": {"name": "SampledDataCtrlr"},
                                "variable": {"name": "TxUpdatedInterval"},
                            }
                        ]
                    },
                )
            ],
        ),
        lambda ctx: {"status": "Accepted"} if ctx.v16 else {"variables": [{"status": "Accepted"}]},
        _config_desired,
    ),
    "get-base-report": Case(
        {"request_id": 11, "report_base": "ConfigurationInventory"},
        every("GetBaseReport", {"requestId": 11, "reportBase": "ConfigurationInventory"}),
        {"status": "Accepted"},
    ),
    "get-report": Case(
        {"request_id": 12, "criteria": ["Problem"], "refs": [HEARTBEAT_REF]},
        every(
            "GetReport",
            {
                "requestId": 12,
                "componentCriteria": ["Problem"],
                "componentVariable": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ],
            },
        ),
        {"status": "EmptyResultSet"},
    ),
    "set-network-profile": Case(
        {
            "configuration_slot": 2,
            "required_security_profile": 1,
            "connection_data": {
                "ocppTransport": "JSON",
                "ocppCsmsUrl": "ws://csms.example/ocpp",
                "messageTimeout": 30,
                "securityProfile": 1,
                "ocppInterface": "Wired0",
            },
        },
        every(
            "SetNetworkProfile",
            {
                "configurationSlot": 2,
                "connectionData": {"ocppCsmsUrl": "ws://csms.example/ocpp", "securityProfile": 1},
            },
        ),
        {"status": "Accepted"},
    ),
    "set-variable-monitoring": Case(
        {"settings": [MONITOR]},
        every(
            "SetVariableMonitoring",
            {
                "setMonitoringData": [
                    {
                        "value": 22000,
                        "type": "UpperThreshold",
                        "severity": 5,
                        "component": {"name": "EVSE", "evse": {"id": 1}},
                        "variable": {"name": "Power"},
                    }
                ]
            },
        ),
        [{"monitor_id": 40, "status": "Accepted", "key": {"component": "EVSE", "evse_id": 1}}],
        _monitor_set,
    ),
    "clear-variable-monitoring": Case(
        _clear_monitor_body,
        every("ClearVariableMonitoring", {"id": [40]}),
        [[40, "Accepted"]],
        _monitor_cleared,
        refused_body={"monitor_ids": [40]},
    ),
    "set-monitoring-base": Case(
        {"base": "FactoryDefault"},
        every("SetMonitoringBase", {"monitoringBase": "FactoryDefault"}),
        {"status": "Accepted"},
    ),
    "set-monitoring-level": Case(
        {"severity": 4},
        every("SetMonitoringLevel", {"severity": 4}),
        {"status": "Accepted"},
    ),
    "get-monitoring-report": Case(
        {"request_id": 13, "criteria": ["ThresholdMonitoring"]},
        every(
            "GetMonitoringReport",
            {"requestId": 13, "monitoringCriteria": ["ThresholdMonitoring"]},
        ),
        {"status": "Accepted"},
    ),
    "customer-information": Case(
        {"request_id": 14, "report": True, "clear": False, "customer_identifier": "cust-1"},
        every(
            "CustomerInformation",
            {"requestId": 14, "report": True, "clear": False, "customerIdentifier": "cust-1"},
        ),
        {"status": "Accepted"},
    ),
    "set-display-message": Case(
        {"message": {"id": 3, "content": "Welcome", "priority": "InFront"}},
        every(
            "SetDisplayMessage",
            {
                "message": {
                    "id": 3,
                    "priority": "InFront",
                    "message": {"format": "UTF8", "content": "Welcome"},
                }
            },
        ),
        {"status": "Accepted"},
    ),
    "get-display-messages": Case(
        {"request_id": 15, "ids": [3], "priority": "InFront"},
        every("GetDisplayMessages", {"requestId": 15, "id": [3], "priority": "InFront"}),
        {"status": "Unknown"},
    ),
    "clear-display-message": Case(
        {"message_id": 3},
        every("ClearDisplayMessage", {"id": 3}),
        {"status": "Accepted"},
    ),
    "update-firmware": Case(
        _firmware_body(retrieve_date="2030-01-01T00:00:00Z"),
        per_version(
            [("UpdateFirmware", {"retrieveDate": "2030-01-01T00:00:00.000Z"})],
            [("UpdateFirmware", {"firmware": {"retrieveDateTime": "2030-01-01T00:00:00.000Z"}})],
        ),
        {"status": "Accepted"},
        _firmware_request("UpdateFirmware"),
    ),
    "publish-firmware": Case(
        _firmware_body(),
        every(
            "PublishFirmware",
            {"checksum": hashlib.md5(FIRMWARE, usedforsecurity=False).hexdigest()},
        ),
        {"status": "Accepted"},
        _firmware_request("PublishFirmware"),
    ),
    "unpublish-firmware": Case(
        _firmware_body(),
        every(
            "UnpublishFirmware",
            {"checksum": hashlib.md5(FIRMWARE, usedforsecurity=False).hexdigest()},
        ),
        "Unpublished",
    ),
    "get-diagnostics": Case(
        {"retries": 2},
        per_version(
            [("GetDiagnostics", {"retries": 2})],
            [("GetLog", {"logType": "DiagnosticsLog", "retries": 2})],
        ),
        lambda ctx: {
            "status": "Accepted",
            "filename": "diagnostics.zip" if ctx.v16 else "station.log",
        },
        _file_request(lambda ctx: "GetDiagnostics" if ctx.v16 else "GetLog"),
    ),
    "get-log": Case(
        {"log_type": "SecurityLog", "retries": 1},
        every("GetLog", {"logType": "SecurityLog", "retries": 1}),
        {"status": "Accepted", "filename": "station.log"},
        _file_request(lambda ctx: "GetLog", log_type="SecurityLog"),
    ),
    "install-certificate": Case(
        {"certificate_type": "CSMSRootCertificate", "certificate": PEM},
        per_version(
            [
                (
                    "InstallCertificate",
                    {"certificateType": "CentralSystemRootCertificate", "certificate": PEM},
                )
            ],
            [
                (
                    "InstallCertificate",
                    {"certificateType": "CSMSRootCertificate", "certificate": PEM},
                )
            ],
        ),
        {"status": "Accepted"},
    ),
    "delete-certificate": Case(
        _delete_body,
        every("DeleteCertificate", {"certificateHashData": HASH}),
        {"status": "Accepted"},
        _deleted_kept,
    ),
    "get-installed-certificate-ids": Case(
        {"certificate_types": ["CSMSRootCertificate"]},
        per_version(
            [("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})],
            [("GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]})],
        ),
        {"status": "Accepted"},
        _installed_kept,
    ),
    "get-local-list-version": Case(
        _list_version_body,
        every("GetLocalListVersion", {}),
        {"version": 3},
        _list_version_kept,
    ),
    "send-local-list": Case(
        {"entries": [{"id_token": TOKEN}], "update_type": "Full"},
        _local_list_sent,
        {"status": "Accepted"},
        _local_list_kept,
    ),
}


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a part of ``actual``: dicts by subset, lists item by item."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


# --- the tests -------------------------------------------------------------------------------


async def test_every_intent_has_a_case() -> None:
    """A new intent needs its case here (and a dropped one loses its case)."""
    assert sorted(CASES) == sorted(intent.name for intent in INTENTS)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", [intent.name for intent in INTENTS])
async def test_intent_reaches_the_station_or_is_refused_by_version(
    world: World, name: str, version: str
) -> None:
    intent = next(i for i in INTENTS if i.name == name)
    case = CASES[name]
    station = world.stations[version]
    ctx = Ctx(world, station)
    station.recorder.received.clear()
    if OcppVersion(version) not in intent.versions:
        if case.refused_body is not None:
            refused = case.refused_body
        else:
            refused = case.body if isinstance(case.body, dict) else await case.body(ctx)
        response = await world.api.post(
            f"/api/v1/stations/{station.sid}/commands/{name}", json=refused
        )
        assert response.status_code == 422, response.text
        assert response.json()["type"] == PROBLEM + "not-supported-by-version", response.text
        assert f"OCPP {version}" in response.json()["detail"]
        assert station.recorder.received == []
        return
    body = case.body if isinstance(case.body, dict) else await case.body(ctx)
    ctx.seen_before = frozenset(station.recorder.seen)
    response = await world.api.post(f"/api/v1/stations/{station.sid}/commands/{name}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = case.sent(ctx)
    received = station.recorder.received
    assert [a for a, _ in received] == [a for a, _ in expected], received
    for (action, payload), (_, want) in zip(received, expected, strict=True):
        assert contains(payload, want), (action, payload, want)
        assert (OcppVersion(version), action) in intent.sends
    want_answer = case.answer(ctx) if callable(case.answer) else case.answer
    assert contains(answer, want_answer), answer
    if case.recorded is not None:
        await case.recorded(ctx, answer)


async def _post(
    world: World, sid: str, intent: str, body: Payload, **params: Any
) -> httpx.Response:
    return await world.api.post(
        f"/api/v1/stations/{sid}/commands/{intent}", json=body, params=params
    )


# Options a version lacks, and values no version allows: refused (422) before anything reaches
# the station.
REFUSALS: list[tuple[str, str, Payload, str]] = [
    ("1.6", "reset", {"type": "soft", "evse_id": 1}, "not-supported-by-version"),
    ("1.6", "trigger", {"requested": "TransactionEvent"}, "not-supported-by-version"),
    ("2.0.1", "extended-trigger", {"requested": "DiagnosticsStatusNotification"},
     "not-supported-by-version"),
    ("1.6", "install-certificate", {"certificate_type": "V2GRootCertificate", "certificate": PEM},
     "invalid-payload"),
    # Values no station could use: a certificate that is not PEM X.509, a window that ends
    # before it starts, a message shown until before it is shown.
    ("2.0.1", "install-certificate",
     {"certificate_type": "CSMSRootCertificate", "certificate": NOT_PEM}, "invalid-payload"),
    ("1.6", "install-certificate",
     {"certificate_type": "CSMSRootCertificate", "certificate": NOT_PEM}, "invalid-payload"),
    ("2.1", "get-log", {"oldest": "2026-12-02T00:00:00Z", "latest": "2026-12-01T00:00:00Z"},
     "invalid-payload"),
    ("1.6", "get-diagnostics",
     {"start_time": "2026-12-02T00:00:00Z", "stop_time": "2026-12-01T00:00:00Z"},
     "invalid-payload"),
    ("2.0.1", "set-display-message",
     {"message": {"id": 7, "content": "Hi", "start": "2026-12-02T00:00:00Z",
                  "end": "2026-12-01T00:00:00Z"}}, "invalid-payload"),
    # 1.6 asks one type per message: the second type must be refused before the first is sent.
    ("1.6", "get-installed-certificate-ids",
     {"certificate_types": ["CSMSRootCertificate", "V2GRootCertificate"]}, "invalid-payload"),
    ("1.6", "get-configuration", {"variables": [HEARTBEAT_REF]}, "not-supported-by-version"),
    ("2.1", "set-configuration", {"key": "HeartbeatInterval", "value": "60"},
     "not-supported-by-version"),
    # 1.6 UnlockConnector.req: "connectorId > 0"; 2.x evseId 0 is the station, not an EVSE.
    ("1.6", "unlock", {"evse_id": 0}, "invalid-payload"),
    ("1.6", "clear-charging-profile", {"evse_id": -1}, "invalid-payload"),
    ("2.0.1", "clear-charging-profile", {"stack_level": -1}, "invalid-payload"),
    ("2.0.1", "unlock", {"evse_id": 0, "connector_id": 1}, "invalid-payload"),
    ("2.1", "unlock", {"evse_id": 1, "connector_id": 0}, "invalid-payload"),
    # 1.6 ChangeAvailability connectorId >= 0; a 2.x negative EVSE or a connector without its
    # EVSE would otherwise change the whole station.
    ("1.6", "change-availability", {"availability": "Inoperative", "evse_id": -1},
     "invalid-payload"),
    ("2.0.1", "change-availability", {"availability": "Inoperative", "evse_id": -1},
     "invalid-payload"),
    ("2.0.1", "change-availability",
     {"availability": "Inoperative", "evse_id": 0, "connector_id": 1}, "invalid-payload"),
    ("2.1", "change-availability",
     {"availability": "Inoperative", "evse_id": 1, "connector_id": 0}, "invalid-payload"),
    # 1.6 RemoteStartTransaction: "connectorId SHALL be > 0"; 2.x EVSE 0 is the whole station.
    ("1.6", "start", {"id_token": TOKEN, "evse_id": 0}, "invalid-payload"),
    ("2.0.1", "start", {"id_token": TOKEN, "evse_id": -2}, "invalid-payload"),
    # 1.6 TriggerMessage connectorId > 0; a 2.x connector without its EVSE would be dropped.
    ("1.6", "trigger", {"requested": "StatusNotification", "evse_id": 0}, "invalid-payload"),
    ("2.0.1", "trigger", {"requested": "MeterValues", "evse_id": -1}, "invalid-payload"),
    ("2.0.1", "trigger", {"requested": "StatusNotification", "connector_id": 1},
     "invalid-payload"),
    ("2.1", "extended-trigger", {"requested": "StatusNotification", "evse_id": 0,
                                 "connector_id": 1}, "invalid-payload"),
]  # fmt: skip


@pytest.mark.parametrize(("version", "name", "body", "problem"), REFUSALS)
async def test_what_the_version_does_not_allow_is_refused_before_anything_is_sent(
    world: World, version: str, name: str, body: Payload, problem: str
) -> None:
    station = world.stations[version]
    station.recorder.received.clear()
    response = await _post(world, station.sid, name, body)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == PROBLEM + problem
    assert station.recorder.received == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_callerror_is_a_502_and_a_rejected_reservation(world: World, version: str) -> None:
    station = world.stations[version]
    station.recorder.fail.update({"Reset", "ReserveNow"})
    try:
        reset = await _post(world, station.sid, "reset", {"type": "soft"})
        reserve = await _post(
            world,
            station.sid,
            "reserve",
            {"evse_id": 2, "id_token": TOKEN, "expiry_date": EXPIRY.isoformat()},
        )
    finally:
        station.recorder.fail.clear()
    for response in (reset, reserve):
        assert response.status_code == 502, response.text
        problem = response.json()
        assert problem["type"] == PROBLEM + "call-failed"
        assert problem["error_code"] == "InternalError"
    reservations = await Ctx(world, station).get("/reservations")
    [sent] = [p for a, p in station.recorder.received if a == "ReserveNow"]
    reservation_id = sent.get("reservationId", sent.get("id"))
    mine = [r["status"] for r in reservations["items"] if r["reservation_id"] == reservation_id]
    assert mine == ["Rejected"], reservations  # docs/behaviour.md: a CALLERROR rejects it


async def _unanswered(
    world: World, station: Station, action: str, intent: str, body: Payload
) -> httpx.Response:
    """POST ``intent`` with the shortest timeout while the station holds back its answer to
    ``action`` (it answers, too late, once the API has answered)."""
    release = station.recorder.hold[action] = asyncio.Event()
    started = asyncio.get_running_loop().time()
    try:
        response = await _post(world, station.sid, intent, body, timeout=1)
    finally:
        release.set()
        del station.recorder.hold[action]
    assert 1 <= asyncio.get_running_loop().time() - started < 5
    return response


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_station_that_does_not_answer_is_a_504(world: World, version: str) -> None:
    """A timeout leaves what may have happened visible: the reservation stays Requested (the
    station may hold it); a 1.6 key change is kept as desired, without an answer."""
    async with connected(world.server, version, "SILENT") as silent:
        clear = await _unanswered(world, silent, "ClearCache", "clear-cache", {})
        reserve = await _unanswered(
            world,
            silent,
            "ReserveNow",
            "reserve",
            {"evse_id": 1, "id_token": TOKEN, "expiry_date": EXPIRY.isoformat()},
        )
        ctx = Ctx(world, silent)
        reservations = await ctx.get("/reservations")
        if version == "1.6":
            change = await _unanswered(
                world,
                silent,
                "ChangeConfiguration",
                "set-configuration",
                {"key": "HeartbeatInterval", "value": "45"},
            )
            assert change.status_code == 504, change.text
            keys = {k["name"]: k for k in (await ctx.get("/configuration"))["keys"]}
            desired = keys["HeartbeatInterval"]["desired"]
            assert (desired["value"], desired["status"]) == ("45", None), keys
    for response in (clear, reserve):
        assert response.status_code == 504, response.text
        assert response.json()["type"] == PROBLEM + "call-timeout"
    assert [r["status"] for r in reservations["items"]] == ["Requested"]
    assert [a for a, _ in silent.recorder.received][:2] == ["ClearCache", "ReserveNow"]


async def test_an_offline_station_is_a_409_before_anything_is_stored(world: World) -> None:
    sid = f"EVERY-OFFLINE-{next(_ids)}"
    await world.server.add_station(sid)
    reset = await _post(world, sid, "reset", {"type": "hard"})
    reserve = await _post(
        world, sid, "reserve", {"evse_id": 1, "id_token": TOKEN, "expiry_date": EXPIRY.isoformat()}
    )
    configuration = await _post(
        world, sid, "set-configuration", {"key": "HeartbeatInterval", "value": "60"}
    )
    for response in (reset, reserve, configuration):
        assert response.status_code == 409, response.text
        assert response.json()["type"] == PROBLEM + "station-not-connected"
    station = Ctx(world, Station(sid, "1.6", None, Recorder()))
    assert (await station.get("/reservations"))["items"] == []
    state = await station.get("/configuration")
    assert state["keys"] == [] and state["variables"] == []


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_the_simulator_answers_2x_intents(world: World, version: OcppVersion) -> None:
    """csms's own simulator: a report (and its NotifyReport), a display message, a log upload
    request and a root certificate, which it then reports installed."""
    sid = f"EVERY-SIM-{next(_ids)}"
    await world.server.add_station(sid)
    pem = make_certificates_pem()
    async with running(make_agent(world.server.ocpp_url, sid, version)):
        report = await _post(world, sid, "get-report", {"request_id": 21, "refs": [HEARTBEAT_REF]})
        display = await _post(
            world, sid, "set-display-message", {"message": {"id": 1, "content": "Hi"}}
        )
        log = await _post(world, sid, "get-log", {"log_type": "DiagnosticsLog"})
        install = await _post(
            world,
            sid,
            "install-certificate",
            {"certificate_type": "CSMSRootCertificate", "certificate": pem},
        )
        listed = await _post(world, sid, "get-installed-certificate-ids", {})
        ctx = Ctx(world, Station(sid, str(version), None, Recorder()))
        async with asyncio.timeout(5):  # the NotifyReport follows the answer: poll the API
            while True:
                if any(r["request_id"] == 21 for r in await ctx.get("/reports")):
                    break
                await asyncio.sleep(0.02)
        requests = await ctx.get("/file-requests")
        certificates = await ctx.get("/certificates")
    for response in (report, display, log, install, listed):
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "Accepted", response.text
    assert log.json()["filename"]
    assert [(r["action"], r["log_type"]) for r in requests] == [("GetLog", "DiagnosticsLog")]
    assert [c["certificate_type"] for c in certificates] == ["CSMSRootCertificate"]


def make_certificates_pem() -> str:
    """A self-signed certificate's PEM text (the simulator installs anything PEM)."""
    return self_signed("every-intent root", timedelta(days=1))[1]
