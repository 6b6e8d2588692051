"""The 2.x device model end to end with the `ocpp` package's ChargePoint (2.0.1 and 2.1) over
loopback, on SQLite and PostgreSQL: NotifyReport parts (B07/B08), NotifyMonitoringReport (N02),
NotifyEvent (N07/G05) answered, stored once and readable through the HTTP API; Get/SetVariables
results (B05/B06) keep the stored model current; secrets stay masked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v21.enums import Action as Action21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from csms.blocks.provisioning.device_model import get_variables, set_variables
from csms.domain.commands import MASKED, VariableRef
from tests.integration.charging import csms_on
from tests.integration.harness import RunningCsms

BOOT = {"charging_station": {"model": "M", "vendor_name": "V"}, "reason": "PowerUp"}
NOW = "2026-12-06T12:00:00Z"


def _versions(subprotocol: str) -> tuple[Any, Any, Any, Any]:
    if subprotocol == "ocpp2.0.1":
        return ChargePoint201, call201, result201, Action201
    return ChargePoint21, call21, result21, Action21


def _station(subprotocol: str, station_id: str, ws: Any) -> Any:
    base, _, results, action = _versions(subprotocol)

    class Station(base):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.batches: list[tuple[str, int]] = []

        @on(action.get_variables)  # type: ignore[untyped-decorator]
        async def on_get(self, get_variable_data: list[dict[str, Any]]) -> Any:
            self.batches.append(("GetVariables", len(get_variable_data)))
            return results.GetVariables(
                get_variable_result=[
                    {
                        "attribute_status": "Accepted",
                        "attribute_value": "900" if e["variable"]["name"] != "Nope" else None,
                        "component": e["component"],
                        "variable": e["variable"],
                    }
                    if e["variable"]["name"] != "Nope"
                    else {
                        "attribute_status": "UnknownVariable",
                        "component": e["component"],
                        "variable": e["variable"],
                    }
                    for e in get_variable_data
                ]
            )

        @on(action.set_variables)  # type: ignore[untyped-decorator]
        async def on_set(self, set_variable_data: list[dict[str, Any]]) -> Any:
            self.batches.append(("SetVariables", len(set_variable_data)))
            return results.SetVariables(
                set_variable_result=[
                    {
                        "attribute_status": "Rejected"
                        if e["variable"]["name"] == "ReadOnlyOne"
                        else "Accepted",
                        "component": e["component"],
                        "variable": e["variable"],
                    }
                    for e in set_variable_data
                ]
            )

    return Station(station_id, ws)


@pytest.fixture(params=["ocpp2.0.1", "ocpp2.1"])
def subprotocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        yield running


def _report_part(seq_no: int, tbc: bool) -> list[dict[str, Any]]:
    if seq_no == 0:
        return [
            {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
                "variable_attribute": [
                    {"type": "Actual", "value": "300", "mutability": "ReadWrite"},
                    {"type": "MinSet", "value": "30"},
                ],
                "variable_characteristics": {
                    "data_type": "integer",
                    "supports_monitoring": False,
                    "unit": "s",
                    "min_limit": 1,
                    "max_limit": 86400,
                },
            },
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
                "variable_attribute": [{"value": "never-to-be-stored", "mutability": "WriteOnly"}],
            },
        ]
    return [
        {
            "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
            "variable": {"name": "AvailabilityState"},
            "variable_attribute": [{"value": "Available", "mutability": "ReadOnly"}],
            "variable_characteristics": {
                "data_type": "OptionList",
                "supports_monitoring": True,
                "values_list": "Available,Occupied,Reserved,Unavailable,Faulted",
            },
        }
    ]


async def test_reports_monitors_and_events_are_stored_and_readable(
    server: RunningCsms, subprotocol: str
) -> None:
    _, calls, _, _ = _versions(subprotocol)
    await server.add_station("DM-1")
    async with server.connect("DM-1", subprotocols=[subprotocol]) as ws:
        station = _station(subprotocol, "DM-1", ws)
        task = asyncio.create_task(station.start())
        try:
            assert (await station.call(calls.BootNotification(**BOOT))).status == "Accepted"
            # Part 1 arrives before part 0 (no order is promised); part 0 is then sent twice.
            for seq_no, tbc in ((1, False), (0, True), (0, True)):
                await station.call(
                    calls.NotifyReport(
                        request_id=7,
                        generated_at=NOW,
                        seq_no=seq_no,
                        tbc=tbc,
                        report_data=_report_part(seq_no, tbc),
                    )
                )
            # An incomplete report: part 0 of 2 with part 1 missing.
            await station.call(
                calls.NotifyReport(
                    request_id=8, generated_at=NOW, seq_no=2, tbc=False,
                    report_data=_report_part(1, False),
                )
            )  # fmt: skip
            monitoring: dict[str, Any] = {
                "id": 5,
                "transaction": False,
                "value": 0,
                "type": "Delta",
                "severity": 1,
            }
            if subprotocol == "ocpp2.1":
                monitoring["event_notification_type"] = "CustomMonitor"
            await station.call(
                calls.NotifyMonitoringReport(
                    request_id=9,
                    seq_no=0,
                    generated_at=NOW,
                    monitor=[
                        {
                            "component": {
                                "name": "Connector",
                                "evse": {"id": 1, "connector_id": 1},
                            },
                            "variable": {"name": "AvailabilityState"},
                            "variable_monitoring": [monitoring],
                        }
                    ],
                )
            )
            event = {
                "event_id": 41,
                "timestamp": NOW,
                "trigger": "Delta",
                "actual_value": "Faulted",
                "event_notification_type": "CustomMonitor",
                "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
                "variable": {"name": "AvailabilityState"},
                "variable_monitoring_id": 5,
                "tech_code": "GF",
            }
            for _ in range(2):  # a retry of the same message stores nothing new
                await station.call(
                    calls.NotifyEvent(generated_at=NOW, seq_no=0, event_data=[event])
                )
        finally:
            task.cancel()

    async with server.api() as api:
        model = (await api.get("/api/v1/stations/DM-1/device-model")).json()
        by_path = {(a["path"], a["attribute_type"]): a for a in model}
        heartbeat = by_path[("OCPPCommCtrlr/HeartbeatInterval", "Actual")]
        assert (heartbeat["value"], heartbeat["unit"], heartbeat["max_limit"]) == (
            "300",
            "s",
            86400,
        )
        assert (heartbeat["data_type"], heartbeat["source"]) == ("integer", "NotifyReport")
        assert by_path[("OCPPCommCtrlr/HeartbeatInterval", "MinSet")]["value"] == "30"
        assert by_path[("SecurityCtrlr/BasicAuthPassword", "Actual")]["value"] == MASKED
        state = by_path[("EVSE[1].Connector[1]/Connector/AvailabilityState", "Actual")]
        # NotifyEvent's actualValue is the variable's newest Actual value.
        assert (state["value"], state["source"], state["mutability"]) == (
            "Faulted",
            "NotifyEvent",
            "ReadOnly",
        )
        assert state["values_list"].startswith("Available,")
        assert (
            "never-to-be-stored" not in (await api.get("/api/v1/stations/DM-1/device-model")).text
        )

        filtered = await api.get(
            "/api/v1/stations/DM-1/device-model", params={"component": "OCPPCommCtrlr"}
        )
        assert {a["variable"] for a in filtered.json()} == {"HeartbeatInterval"}

        reports = {
            r["request_id"]: r for r in (await api.get("/api/v1/stations/DM-1/reports")).json()
        }
        assert (reports[7]["complete"], reports[7]["parts"], reports[7]["missing_seq_nos"]) == (
            True,
            2,
            [],
        )
        assert (reports[8]["complete"], reports[8]["missing_seq_nos"]) == (False, [0, 1])
        assert reports[9]["kind"] == "monitors" and reports[9]["complete"]

        monitors = (await api.get("/api/v1/stations/DM-1/monitors")).json()
        assert [(m["monitor_id"], m["type"], m["severity"], m["evse_id"]) for m in monitors] == [
            (5, "Delta", 1, 1)
        ]

        events = (await api.get("/api/v1/stations/DM-1/events")).json()
        assert len(events) == 1
        assert (events[0]["event_id"], events[0]["actual_value"], events[0]["tech_code"]) == (
            41,
            "Faulted",
            "GF",
        )
        # 2.0.1 events carry no severity: it is the monitor's.
        assert events[0]["severity"] == 1
        assert (await api.get("/api/v1/stations/NOPE/events")).status_code == 404
        paged = await api.get("/api/v1/stations/DM-1/events", params={"before": events[0]["id"]})
        assert paged.json() == []


async def test_get_and_set_variables_keep_the_stored_model_current(
    server: RunningCsms, subprotocol: str
) -> None:
    _, calls, _, _ = _versions(subprotocol)
    store = server.csms.store
    assert store is not None
    await server.add_station("DM-2")
    async with server.connect("DM-2", subprotocols=[subprotocol]) as ws:
        station = _station(subprotocol, "DM-2", ws)
        task = asyncio.create_task(station.start())
        try:
            assert (await station.call(calls.BootNotification(**BOOT))).status == "Accepted"
            gw = server.csms.registry
            interval = VariableRef("OCPPCommCtrlr", "HeartbeatInterval")
            got = await get_variables(
                gw, store.device_model, "DM-2",
                [interval, VariableRef("OCPPCommCtrlr", "Nope")], clock=server.csms.clock,
            )  # fmt: skip
            assert [r.status for r in got] == ["Accepted", "UnknownVariable"]
            put = await set_variables(
                gw, store.device_model, "DM-2",
                [
                    (VariableRef("TxCtrlr", "EVConnectionTimeOut", evse_id=1), "45"),
                    (VariableRef("TxCtrlr", "ReadOnlyOne"), "1"),
                ],
                clock=server.csms.clock,
            )  # fmt: skip
            assert [r.status for r in put] == ["Accepted", "Rejected"]
        finally:
            task.cancel()
    stored = {
        (a.key.path(), a.source): a.attribute.value
        for a in await store.device_model.attributes("DM-2")
    }
    assert stored == {
        ("OCPPCommCtrlr/HeartbeatInterval", "GetVariables"): "900",
        ("EVSE[1]/TxCtrlr/EVConnectionTimeOut", "SetVariables"): "45",
    }


async def test_get_and_set_variables_respect_the_stations_message_limits(
    server: RunningCsms, subprotocol: str
) -> None:
    """B05/B06 with DeviceDataCtrlr.ItemsPerMessage / BytesPerMessage (2.0.1 Part 2 §3.1.7)."""
    _, calls, _, _ = _versions(subprotocol)
    store = server.csms.store
    assert store is not None
    await server.add_station("DM-3")
    limits = [
        {
            "component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"},
            "variable_attribute": [{"value": "2", "mutability": "ReadOnly"}],
        },
        {
            "component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "BytesPerMessage", "instance": "SetVariables"},
            "variable_attribute": [{"value": "400", "mutability": "ReadOnly"}],
            "variable_characteristics": {
                "data_type": "integer",
                "supports_monitoring": False,
                "max_limit": 400,
            },
        },
    ]
    async with server.connect("DM-3", subprotocols=[subprotocol]) as ws:
        station = _station(subprotocol, "DM-3", ws)
        task = asyncio.create_task(station.start())
        try:
            assert (await station.call(calls.BootNotification(**BOOT))).status == "Accepted"
            await station.call(
                calls.NotifyReport(request_id=1, generated_at=NOW, seq_no=0, report_data=limits)
            )
            gw, clock = server.csms.registry, server.csms.clock
            refs = [VariableRef("OCPPCommCtrlr", f"V{n}") for n in range(5)]
            got = await get_variables(gw, store.device_model, "DM-3", refs, clock=clock)
            values = [(VariableRef("SampledDataCtrlr", f"Var{n}"), "x" * 60) for n in range(6)]
            put = await set_variables(gw, store.device_model, "DM-3", values, clock=clock)
        finally:
            task.cancel()
    assert [r.ref.variable for r in got] == [f"V{n}" for n in range(5)]
    assert [r.status for r in put] == ["Accepted"] * 6
    gets = [n for action, n in station.batches if action == "GetVariables"]
    sets = [n for action, n in station.batches if action == "SetVariables"]
    assert gets == [2, 2, 1]
    assert len(sets) > 1 and sum(sets) == 6
