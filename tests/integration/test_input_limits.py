"""Schema-valid values csms cannot hold get one clear CALLERROR; those it can hold are stored.

Issue 7 finding 7: such values were answered InternalError on every retry (a poison message). Each
test drives a real csms over a socket with raw OCPP-J text (JSON integers beyond 64 bits cannot be
written with orjson), on SQLite and PostgreSQL (ocpp-rules.md §1.6; docs/behaviour.md "Frames and
errors").
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from csms.blocks.authorization.commands import add_token
from csms.domain.transactions import WH_MAX, TransactionFlag
from csms.storage.tables import connector_status, meter_values, transaction_events
from csms.storage.tables_files import security_events
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import BOOT_2X, BOOT_16, RunningCsms, call
from tests.unit.storage.db import fetch

V16, V201, V21 = "ocpp1.6", "ocpp2.0.1", "ocpp2.1"
NOW = "2024-06-01T12:00:00Z"
_ids = itertools.count(1)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        for station in ("CP16", "CP201", "CP21"):
            await running.add_station(station)
        await running.add_station("LAX16", lenient=True)
        await add_token(store_of(running).tokens, "TAG", now=datetime.now(UTC))
        yield running


@asynccontextmanager
async def booted(
    server: RunningCsms, station: str, version: str
) -> AsyncIterator[ClientConnection]:
    async with server.connect(station, subprotocols=[version]) as ws:
        boot = BOOT_16 if version == V16 else BOOT_2X
        assert (await call(ws, "boot", "BootNotification", boot))[2]["status"] == "Accepted"
        yield ws


async def send(ws: ClientConnection, action: str, payload: str) -> list[Any]:
    """Send a CALL whose payload is raw JSON text; return the reply frame."""
    message_id = f"m{next(_ids)}"
    await ws.send(f'[2,"{message_id}","{action}",{payload}]')
    reply: list[Any] = orjson.loads(await ws.recv())
    assert reply[1] == message_id
    return reply


def status16(connector: str = "1", timestamp: str = NOW) -> str:
    return (
        f'{{"connectorId":{connector},"errorCode":"NoError","status":"Available",'
        f'"timestamp":"{timestamp}"}}'
    )


def status2(evse: str = "1", connector: str = "1", timestamp: str = NOW) -> str:
    return (
        f'{{"timestamp":"{timestamp}","connectorStatus":"Available","evseId":{evse},'
        f'"connectorId":{connector}}}'
    )


def event2(seq: str = "0", evse: str = "1", multiplier: str = "0", tx: str = "T1") -> str:
    return (
        f'{{"eventType":"Started","timestamp":"{NOW}","triggerReason":"CablePluggedIn",'
        f'"seqNo":{seq},"transactionInfo":{{"transactionId":"{tx}"}},'
        f'"evse":{{"id":{evse},"connectorId":1}},'
        f'"meterValue":[{{"timestamp":"{NOW}","sampledValue":[{{"value":12.5,'
        f'"unitOfMeasure":{{"unit":"Wh","multiplier":{multiplier}}}}}]}}]}}'
    )


def security(timestamp: str) -> str:
    return f'{{"type":"StartupOfTheDevice","timestamp":"{timestamp}"}}'


TOO_BIG = str(2**63)
HUGE = str(2**64)  # beyond 64 bits: arrives as a float
TOO_LATE = "9999-12-31T23:59:59-01:00"  # year 10000 in UTC
TOO_EARLY = "0001-01-01T00:00:00+01:00"  # year 0 in UTC
PCV = "PropertyConstraintViolation"

# (version, action, payload, the CALLERROR code, where) of values csms cannot hold.
REFUSED = [
    (V16, "StartTransaction", f'{{"connectorId":1,"idTag":"TAG","meterStart":{TOO_BIG},'
     f'"timestamp":"{NOW}"}}', PCV, "$.meterStart"),
    (V16, "MeterValues", f'{{"connectorId":1,"transactionId":{TOO_BIG},"meterValue":'
     f'[{{"timestamp":"{NOW}","sampledValue":[{{"value":"1"}}]}}]}}', PCV, "$.transactionId"),
    (V16, "StatusNotification", status16(TOO_BIG), PCV, "$.connectorId"),
    (V16, "StatusNotification", status16(HUGE), PCV, "$.connectorId"),
    (V16, "StatusNotification", status16(timestamp=TOO_LATE), PCV, "$.timestamp"),
    (V16, "StatusNotification", status16(timestamp=TOO_EARLY), PCV, "$.timestamp"),
    (V16, "StopTransaction", f'{{"transactionId":1,"meterStop":0,"timestamp":"{TOO_LATE}"}}',
     PCV, "$.timestamp"),
    (V16, "SecurityEventNotification", security(TOO_EARLY), PCV, "$.timestamp"),
    (V201, "StatusNotification", status2(evse=TOO_BIG), PCV, "$.evseId"),
    (V201, "TransactionEvent", event2(seq=TOO_BIG), PCV, "$.seqNo"),
    (V201, "TransactionEvent", event2(evse=HUGE), PCV, "$.evse.id"),
    (V201, "TransactionEvent", event2(multiplier=TOO_BIG), PCV,
     "$.meterValue[0].sampledValue[0].unitOfMeasure.multiplier"),
    (V21, "SecurityEventNotification", security(TOO_LATE), PCV, "$.timestamp"),
    (V21, "MeterValues", f'{{"evseId":1,"meterValue":[{{"timestamp":"{TOO_EARLY}",'
     f'"sampledValue":[{{"value":1}}]}}]}}', PCV, "$.meterValue[0].timestamp"),
]  # fmt: skip


@pytest.mark.parametrize("version", [V16, V201, V21])
async def test_values_csms_cannot_hold_get_a_property_constraint_violation(
    server: RunningCsms, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    station = {V16: "CP16", V201: "CP201", V21: "CP21"}[version]
    async with booted(server, station, version) as ws:
        for _, action, payload, code, path in (r for r in REFUSED if r[0] == version):
            for _attempt in range(2):  # the same answer on a retry, never InternalError
                reply = await send(ws, action, payload)
                assert reply[0] == 4 and reply[2] == code, (action, payload, reply)
                assert reply[4]["path"] == path and "csms" in reply[3], reply
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a refused value"


async def test_lenient_station_gets_the_same_answer_for_values_csms_cannot_hold(
    server: RunningCsms,
) -> None:
    async with booted(server, "LAX16", V16) as ws:
        for payload in (status16(TOO_BIG), status16(timestamp=TOO_LATE)):
            reply = await send(ws, "StatusNotification", payload)
            assert reply[0] == 4 and reply[2] == PCV, reply
        # Something the schema refuses but csms can read is still handled for a lenient station.
        reply = await send(ws, "StatusNotification", status16(timestamp="2024-06-01T13:00:00"))
        assert reply[0] == 3, reply


async def test_values_the_schemas_allow_and_csms_can_hold_are_stored(server: RunningCsms) -> None:
    big = 2**63 - 1
    async with booted(server, "CP16", V16) as ws:
        for connector, stamp in (
            (str(2**31), "2016-12-31T23:59:60Z"),  # a leap second
            (str(big), "2024-06-01t12:00:00z"),  # lower-case t and z (RFC 3339 §5.6)
        ):
            assert (await send(ws, "StatusNotification", status16(connector, stamp)))[0] == 3
        reply = await send(ws, "SecurityEventNotification", security("9999-12-31T23:59:59Z"))
        assert reply[0] == 3, reply
    async with booted(server, "CP201", V201) as ws:
        assert (await send(ws, "StatusNotification", status2(str(big), str(big))))[0] == 3
        reply = await send(
            ws, "TransactionEvent", event2(seq=str(big), evse=str(2**40), multiplier="400")
        )
        assert reply == [3, reply[1], {}], reply
    engine = store_of(server).engine
    stored = {
        (r["evse_id"], r["connector_id"]): r["timestamp"]
        for r in await fetch(engine, connector_status, station_id="CP16")
    }
    assert stored[(2**31, 1)].replace(tzinfo=UTC) == datetime(2016, 12, 31, 23, 59, 59, 999999, UTC)
    assert stored[(big, 1)].replace(tzinfo=UTC) == datetime(2024, 6, 1, 12, tzinfo=UTC)
    [event] = await fetch(engine, transaction_events, station_id="CP201")
    assert (event["seq_no"], event["evse_id"]) == (big, 2**40)
    [sample] = await fetch(engine, meter_values, station_id="CP201")
    assert (sample["value"], sample["raw_value"]) == (None, "12.5")  # 12.5e400 is no float
    assert [
        (r["evse_id"], r["connector_id"])
        for r in await fetch(engine, connector_status, station_id="CP201")
    ] == [(big, big)]
    [latest] = await fetch(engine, security_events, station_id="CP16")
    assert latest["timestamp"].year == 9999


async def test_a_transaction_started_at_the_lowest_meter_reading_can_be_stopped(
    server: RunningCsms,
) -> None:
    low, high = -(2**63), 2**63 - 1
    async with booted(server, "CP16", V16) as ws:
        start = f'{{"connectorId":1,"idTag":"TAG","meterStart":{low},"timestamp":"{NOW}"}}'
        reply = await send(ws, "StartTransaction", start)
        assert reply[0] == 3 and reply[2]["idTagInfo"]["status"] == "Accepted", reply
        tx = reply[2]["transactionId"]
        stop = f'{{"transactionId":{tx},"meterStop":{high},"timestamp":"2024-06-01T13:00:00Z"}}'
        assert (await send(ws, "StopTransaction", stop))[0] == 3
    closed = await store_of(server).charging.get(tx)
    assert closed is not None and closed.ended_at is not None
    assert closed.energy_wh == WH_MAX
    assert TransactionFlag.ENERGY_OUT_OF_RANGE in closed.flags


@pytest.mark.parametrize(
    ("version", "code"), [(V16, "FormationViolation"), (V201, "FormatViolation")]
)
async def test_a_deeply_nested_payload_gets_a_format_violation_without_a_traceback(
    server: RunningCsms, version: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    station = "CP16" if version == V16 else "CP201"
    caplog.set_level(logging.INFO)
    async with booted(server, station, version) as ws:
        for depth in (33, 256, 1000):
            deep = "[" * depth + "]" * depth
            status = status16() if version == V16 else status2()
            reply = await send(ws, "StatusNotification", status[:-1] + f',"extra":{deep}}}')
            assert reply[0] == 4 and reply[2] == code, reply
            assert "nested deeper than 32 levels" in reply[3]
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a deep payload"
