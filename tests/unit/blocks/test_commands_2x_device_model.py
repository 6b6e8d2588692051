"""The 2.x-only commands: reports, monitoring, customer information, display messages, charging
profile reports, transaction status, cost and firmware publication. Every CALL passes the real
outbound checks (official schema of the version) in :class:`ScriptedGateway`, and every scripted
answer the schema of its response; 1.6 has none of them (NotSupported before anything is sent).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csms.blocks.diagnostics.monitoring_commands import (
    ClearVariableMonitoring,
    CustomerInformation,
    GetMonitoringReport,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetVariableMonitoring,
    clear_variable_monitoring,
    set_variable_monitoring,
)
from csms.blocks.displaymessage.commands import (
    ClearDisplayMessage,
    GetDisplayMessages,
    SetDisplayMessage,
)
from csms.blocks.firmware.publish_commands import (
    PublishFirmware,
    UnpublishFirmware,
    UnpublishFirmwareStatus,
)
from csms.blocks.outbound import send, sent_actions
from csms.blocks.provisioning.device_model import split_for_limits
from csms.blocks.provisioning.report_commands import GetBaseReport, GetReport
from csms.blocks.smartcharging.report_commands import GetChargingProfiles, GetChargingProfileStatus
from csms.blocks.tariff import CostUpdated
from csms.blocks.transactions.status_command import GetTransactionStatus, TransactionStatus
from csms.container import SENT_BY_COMMANDS
from csms.domain.commands import AcceptStatus, StatusInfo, VariableRef
from csms.domain.devicemodel import (
    ClearMonitoringStatus,
    ComponentCriterion,
    CustomerInformationStatus,
    DeviceModelStatus,
    MonitoringBase,
    MonitoringCriterion,
    MonitorSetting,
    SetMonitoringStatus,
    VariableKey,
    VariableMonitor,
)
from csms.domain.displaymessages import (
    ClearMessageStatus,
    DisplayMessage,
    DisplayMessageStatus,
    GetDisplayMessagesStatus,
    MessagePriority,
    MessageState,
)
from csms.domain.errors import InvalidPayload
from csms.rpc import OcppVersion
from tests.unit.blocks.gateway import ScriptedGateway

V2 = [OcppVersion.V201, OcppVersion.V21]
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MD5 = "0123456789abcdef0123456789ABCDEF"
KEY = VariableKey("EVSE", "Power", evse_id=1)
SETTING = MonitorSetting(KEY, "UpperThreshold", 11000.0, severity=4)

SAMPLES: list[Any] = [
    GetBaseReport(1),
    GetReport(2, (ComponentCriterion.PROBLEM,), (VariableRef("EVSE", "Power", evse_id=1),)),
    SetVariableMonitoring((SETTING,)),
    ClearVariableMonitoring((3,)),
    SetMonitoringBase(MonitoringBase.HARD_WIRED_ONLY),
    SetMonitoringLevel(5),
    GetMonitoringReport(4, (MonitoringCriterion.DELTA,)),
    CustomerInformation(5, report=True, clear=False, id_token=("RFID-1", "ISO14443")),
    SetDisplayMessage(DisplayMessage(1, "Hello")),
    GetDisplayMessages(6),
    ClearDisplayMessage(1),
    GetChargingProfiles(7, evse_id=1),
    GetTransactionStatus("tx-1"),
    CostUpdated("tx-1", 3.5),
    PublishFirmware(8, "http://fw.example/fw.bin", MD5),
    UnpublishFirmware(MD5),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_none_of_them_exists_in_1_6(sample: Any) -> None:
    with pytest.raises(InvalidPayload) as raised:
        sample.request(OcppVersion.V16)
    assert raised.value.code == "NotSupported"


@pytest.mark.parametrize("version", V2)
def test_each_sends_only_what_it_declares_and_is_counted(version: OcppVersion) -> None:
    for sample in SAMPLES:
        action, _ = sample.request(version)
        assert (version, action) in sent_actions(type(sample))
        assert (version, action) in SENT_BY_COMMANDS


@pytest.mark.parametrize("version", V2)
async def test_report_requests(version: OcppVersion) -> None:
    gw = ScriptedGateway(
        version,
        {
            "GetBaseReport": {"status": "Accepted"},
            "GetReport": {"status": "EmptyResultSet", "statusInfo": {"reasonCode": "NoMatch"}},
        },
    )
    base = await send(gw, "CS1", GetBaseReport(1))
    report = await send(gw, "CS1", SAMPLES[1])
    assert base.status is DeviceModelStatus.ACCEPTED
    assert (report.status, report.status_info) == (
        DeviceModelStatus.EMPTY_RESULT_SET,
        StatusInfo("NoMatch"),
    )
    assert gw.sent[0] == ("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"})
    assert gw.sent[1] == (
        "GetReport",
        {
            "requestId": 2,
            "componentCriteria": ["Problem"],
            "componentVariable": [
                {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}
            ],
        },
    )


class _Monitors:
    """The part of the device-model store the monitoring helpers use."""

    def __init__(self) -> None:
        self.recorded: list[VariableMonitor] = []
        self.removed: list[int] = []

    async def record_monitors(self, monitors: list[VariableMonitor]) -> None:
        self.recorded += monitors

    async def remove_monitors(self, station_id: str, monitor_ids: list[int]) -> None:
        self.removed += monitor_ids


@pytest.mark.parametrize("version", V2)
async def test_accepted_monitors_are_stored_and_cleared_ones_forgotten(
    version: OcppVersion,
) -> None:
    rejected = MonitorSetting(VariableKey("EVSE", "Nope"), "Delta", 1.0, severity=8)

    def set_answer(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "setMonitoringResult": [
                {
                    "id": 21,
                    "status": "Accepted",
                    "type": "UpperThreshold",
                    "severity": 4,
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Power"},
                },
                {
                    "status": "UnknownVariable",
                    "type": "Delta",
                    "severity": 8,
                    "component": {"name": "EVSE"},
                    "variable": {"name": "Nope"},
                },
            ]
        }

    gw = ScriptedGateway(
        version,
        {
            "SetVariableMonitoring": set_answer,
            "ClearVariableMonitoring": {
                "clearMonitoringResult": [
                    {"id": 21, "status": "Accepted"},
                    {"id": 22, "status": "Rejected"},
                    {"id": 23, "status": "NotFound"},
                ]
            },
        },
    )
    store = _Monitors()
    results = await set_variable_monitoring(
        gw,
        store,
        "CS1",
        [SETTING, rejected],
        clock=lambda: NOW,  # type: ignore[arg-type]
    )
    assert [(r.status, r.monitor_id) for r in results] == [
        (SetMonitoringStatus.ACCEPTED, 21),
        (SetMonitoringStatus.UNKNOWN_VARIABLE, None),
    ]
    assert store.recorded == [
        VariableMonitor("CS1", 21, KEY, False, 11000.0, "UpperThreshold", 4, NOW)
    ]
    assert gw.sent[0][1]["setMonitoringData"][0] == {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
        "value": 11000.0,
        "type": "UpperThreshold",
        "severity": 4,
        "transaction": False,
    }
    cleared = await clear_variable_monitoring(gw, store, "CS1", [21, 22, 23])  # type: ignore[arg-type]
    assert cleared == (
        (21, ClearMonitoringStatus.ACCEPTED),
        (22, ClearMonitoringStatus.REJECTED),
        (23, ClearMonitoringStatus.NOT_FOUND),
    )
    assert store.removed == [21, 23]


@pytest.mark.parametrize("version", V2)
async def test_monitoring_base_level_report_and_customer_information(version: OcppVersion) -> None:
    gw = ScriptedGateway(
        version,
        {
            "SetMonitoringBase": {"status": "NotSupported"},
            "SetMonitoringLevel": {"status": "Accepted"},
            "GetMonitoringReport": {"status": "Accepted"},
            "CustomerInformation": {"status": "Invalid"},
        },
    )
    assert (await send(gw, "CS1", SAMPLES[4])).status is DeviceModelStatus.NOT_SUPPORTED
    assert (await send(gw, "CS1", SAMPLES[5])).status is AcceptStatus.ACCEPTED
    assert (await send(gw, "CS1", SAMPLES[6])).status is DeviceModelStatus.ACCEPTED
    info = await send(gw, "CS1", SAMPLES[7])
    assert info.status is CustomerInformationStatus.INVALID
    assert gw.sent[3][1] == {
        "requestId": 5,
        "report": True,
        "clear": False,
        "idToken": {"idToken": "RFID-1", "type": "ISO14443"},
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SetMonitoringLevel(10), "severity"),
        (lambda: ClearVariableMonitoring(()), "monitor id"),
        (lambda: CustomerInformation(1, report=True, clear=False), "exactly one"),
        (lambda: CustomerInformation(1, False, False, customer_identifier="c"), "report"),
        (lambda: PublishFirmware(1, "http://x/", "not-md5"), "MD5"),
        (lambda: CostUpdated("tx", float("nan")), "finite"),
    ],
)
def test_impossible_commands_are_refused_before_sending(make: Any, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        make()


@pytest.mark.parametrize("version", V2)
async def test_display_messages(version: OcppVersion) -> None:
    gw = ScriptedGateway(
        version,
        {
            "SetDisplayMessage": {"status": "NotSupportedPriority"},
            "GetDisplayMessages": {"status": "Unknown"},
            "ClearDisplayMessage": {"status": "Accepted"},
        },
    )
    message = DisplayMessage(
        7,
        "Charging at 0.30 EUR/kWh",
        priority=MessagePriority.IN_FRONT,
        language="en",
        state=MessageState.CHARGING,
        start=NOW,
        transaction_id="tx-1",
        evse_id=2,
    )
    result = await send(gw, "CS1", SetDisplayMessage(message))
    assert result.status is DisplayMessageStatus.NOT_SUPPORTED_PRIORITY
    assert gw.sent[0][1] == {
        "message": {
            "id": 7,
            "priority": "InFront",
            "message": {"format": "UTF8", "content": "Charging at 0.30 EUR/kWh", "language": "en"},
            "state": "Charging",
            "startDateTime": "2026-12-06T12:00:00.000Z",
            "transactionId": "tx-1",
            "display": {"name": "Display", "evse": {"id": 2}},
        }
    }
    got = await send(gw, "CS1", GetDisplayMessages(3, ids=(7,), priority=MessagePriority.IN_FRONT))
    assert got.status is GetDisplayMessagesStatus.UNKNOWN
    assert (await send(gw, "CS1", ClearDisplayMessage(7))).status is ClearMessageStatus.ACCEPTED


@pytest.mark.parametrize("version", V2)
async def test_charging_profiles_transaction_status_cost_and_firmware_publication(
    version: OcppVersion,
) -> None:
    gw = ScriptedGateway(
        version,
        {
            "GetChargingProfiles": {"status": "NoProfiles"},
            "GetTransactionStatus": {"messagesInQueue": True, "ongoingIndicator": False},
            "CostUpdated": {},
            "PublishFirmware": {"status": "Accepted"},
            "UnpublishFirmware": {"status": "Unpublished"},
        },
    )
    profiles = await send(
        gw, "CS1", GetChargingProfiles(9, evse_id=0, purpose="TxDefaultProfile", sources=("CSO",))
    )
    assert profiles.status is GetChargingProfileStatus.NO_PROFILES
    assert gw.sent[0][1] == {
        "requestId": 9,
        "evseId": 0,
        "chargingProfile": {
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingLimitSource": ["CSO"],
        },
    }
    status = await send(gw, "CS1", GetTransactionStatus("tx-1"))
    assert status == TransactionStatus(messages_in_queue=True, ongoing=False)
    assert await send(gw, "CS1", CostUpdated("tx-1", 3.5)) is None
    published = await send(gw, "CS1", PublishFirmware(8, "http://fw.example/fw.bin", MD5))
    assert published.status is AcceptStatus.ACCEPTED
    assert gw.sent[3][1]["checksum"] == MD5.lower()
    unpublished = await send(gw, "CS1", UnpublishFirmware(MD5))
    assert unpublished is UnpublishFirmwareStatus.UNPUBLISHED


@pytest.mark.parametrize(
    ("sizes", "items", "max_bytes", "expected"),
    [
        ([10] * 5, None, None, [5]),
        ([10] * 5, 2, None, [2, 2, 1]),
        ([10] * 5, None, 35, [2, 2, 1]),  # overhead 10 + 2 x (10 + comma) fits, a third does not
        ([10, 100, 10], None, 40, [1, 1, 1]),  # the oversized entry goes alone, not dropped
        ([10] * 4, 3, 1000, [3, 1]),
        ([], 2, 10, []),
    ],
)
def test_split_for_limits(
    sizes: list[int], items: int | None, max_bytes: int | None, expected: list[int]
) -> None:
    batches = split_for_limits(
        list(range(len(sizes))),
        lambda i: sizes[i],
        items=items,
        max_bytes=max_bytes,
        overhead=10,
    )
    assert [len(b) for b in batches] == expected
    assert [i for b in batches for i in b] == list(range(len(sizes)))
