"""Every ChargePointService operation of the 1.5 and 1.6 WSDLs through the API (issue 12): the
typed commands (the generic call route where no typed command sends the operation alone) reach a
SOAP station whose ChargePointService is built by zeep from the official WSDL; zeep reads every
request csms posts and renders every answer, so both directions are checked independently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from csms.messages.soap.service import ServiceDescription
from tests.integration.soap_cp import charge_point_service
from tests.integration.test_soap import TAG, soap_csms, soap_station, soap_url

LATER = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat()
PROFILE = {
    "id": 5,
    "stack_level": 0,
    "purpose": "TxDefaultProfile",
    "kind": "Absolute",
    "schedule": {
        "charging_rate_unit": "A",
        "periods": [{"start_period": 0, "limit": 16.0}],
        "start_schedule": LATER,
    },
}
# (API path below /api/v1/stations/{id}/, body, the operation the station receives, what the
# answer's JSON holds). The reservation commands run in this order: cancel needs the reservation.
COMMANDS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("commands/start", {"id_token": TAG, "evse_id": 1}, "RemoteStartTransaction", {}),
    ("commands/stop", {"transaction_id": "17"}, "RemoteStopTransaction", {}),
    ("commands/reset", {"type": "hard"}, "Reset", {"status": "Accepted"}),
    ("commands/unlock", {"evse_id": 1}, "UnlockConnector", {"status": "Unlocked"}),
    (
        "commands/change-availability",
        {"availability": "Inoperative", "evse_id": 1},
        "ChangeAvailability",
        {"status": "Scheduled"},
    ),
    ("commands/clear-cache", {}, "ClearCache", {"status": "Accepted"}),
    (
        "commands/data-transfer",
        {"vendor_id": "com.example", "message_id": "ping", "data": "x"},
        "DataTransfer",
        {"status": "Accepted"},
    ),
    ("commands/get-configuration", {"keys": ["HeartbeatInterval"]}, "GetConfiguration", {}),
    (
        "commands/set-configuration",
        {"key": "HeartbeatInterval", "value": "120"},
        "ChangeConfiguration",
        {"status": "Accepted"},
    ),
    ("commands/get-diagnostics", {}, "GetDiagnostics", {}),
    (
        "call/UpdateFirmware",
        {"location": "https://files.example/fw.bin", "retrieveDate": LATER},
        "UpdateFirmware",
        {},
    ),
    ("commands/get-local-list-version", {}, "GetLocalListVersion", {}),
    (
        "commands/send-local-list",
        {"entries": [{"id_token": "LOCAL-1"}], "update_type": "Full"},
        "SendLocalList",
        {},
    ),
    (
        "commands/reserve",
        {"evse_id": 1, "id_token": TAG, "expiry_date": LATER},
        "ReserveNow",
        {"status": "Accepted"},
    ),
    ("commands/cancel-reservation", {}, "CancelReservation", {"status": "Accepted"}),
]
# 1.6 only (1.5 has no TriggerMessage and no smart charging).
COMMANDS_16: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "commands/trigger",
        {"requested": "Heartbeat"},
        "TriggerMessage",
        {"status": "Accepted"},
    ),
    (
        "commands/set-charging-profile",
        {"evse_id": 1, "profile": PROFILE},
        "SetChargingProfile",
        {"status": "Accepted"},
    ),
    (
        "commands/get-composite-schedule",
        {"evse_id": 1, "duration": 600},
        "GetCompositeSchedule",
        {},
    ),
    ("commands/clear-charging-profile", {"profile_id": 5}, "ClearChargingProfile", {}),
]


@pytest.mark.parametrize("version", ["1.6", "1.5"])
async def test_every_charge_point_operation_is_reachable(tmp_path: Path, version: str) -> None:
    commands = COMMANDS + (COMMANDS_16 if version == "1.6" else [])
    async with soap_csms(tmp_path) as server, charge_point_service(version) as (cp, url):
        await server.add_station("SOAP-OPS")
        station = soap_station(soap_url(server), "SOAP-OPS", version)
        station.from_header.address = url
        await station.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        outcomes: dict[str, tuple[int, Any]] = {}
        reservation_id = None
        async with server.api() as api:
            for path, body, operation, _ in commands:
                sent = (
                    {"reservation_id": reservation_id} if operation == "CancelReservation" else body
                )
                reply = await api.post(f"/api/v1/stations/SOAP-OPS/{path}", json=sent)
                outcomes[operation] = (reply.status_code, reply.json())
                if operation == "ReserveNow":
                    reservation_id = reply.json().get("reservation_id")
            if version == "1.5":  # what 1.5 lacks is refused before anything is sent
                trigger = await api.post(
                    "/api/v1/stations/SOAP-OPS/commands/trigger", json={"requested": "Heartbeat"}
                )
                assert trigger.status_code in (400, 422, 501), trigger.text
        assert cp.errors == []  # zeep read every request csms posted
        for _, _, operation, expected in commands:
            status, answer = outcomes[operation]
            assert status == 200, (operation, answer)
            assert expected.items() <= answer.items(), (operation, answer)
        received = {action for action, identity, _ in cp.received if identity == "SOAP-OPS"}
        # Every operation of the version's ChargePointService WSDL was reached.
        assert received == set(ServiceDescription(version, charge_point=True).operations)
        fields = {action: f for action, _, f in cp.received}
        assert fields["RemoteStartTransaction"]["idTag"] == TAG
        assert fields["ChangeConfiguration"] == {"key": "HeartbeatInterval", "value": "120"}
        local_list = "localAuthorisationList" if version == "1.5" else "localAuthorizationList"
        assert fields["SendLocalList"][local_list][0]["idTag"] == "LOCAL-1"
        config = outcomes["GetConfiguration"][1]
        assert config["keys"][0]["key"] == "HeartbeatInterval", config
        assert 7 in outcomes["GetLocalListVersion"][1].values(), outcomes
