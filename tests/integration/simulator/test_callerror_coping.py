"""A station facing CSMSs that implement little or refuse its tag.

The peer here is a minimal CSMS built on csms's own sans-I/O RpcSession, answering with a function
the test chooses, so the tests hold whatever csms itself implements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from csms.rpc.errors import ErrorCode
from csms.rpc.events import CallReceived
from csms.rpc.session import RpcSession
from csms.rpc.versions import OcppVersion
from csms.simulator import Scenario, Timing, run_scenario
from tests.integration.simulator.helpers import make_agent, running

Payload = dict[str, Any]
Responder = Callable[[str, Payload], Payload | None]  # None: CALLERROR NotImplemented
Received = list[tuple[str, Payload]]


def boot_only(action: str, payload: Payload) -> Payload | None:
    """A CSMS that knows BootNotification, Heartbeat and StatusNotification only."""
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": datetime.now(UTC).isoformat(), "interval": 60}
    if action in ("Heartbeat", "StatusNotification"):
        return {"currentTime": datetime.now(UTC).isoformat()} if action == "Heartbeat" else {}
    return None


@asynccontextmanager
async def bare_csms(
    version: OcppVersion, responder: Responder
) -> AsyncIterator[tuple[str, Received]]:
    received: Received = []

    async def handler(ws: ServerConnection) -> None:
        session = RpcSession(version)
        async for message in ws:
            for event in session.receive(message, 0.0):
                if type(event) is not CallReceived:
                    continue
                received.append((event.action, event.payload))
                answer = responder(event.action, event.payload)
                if answer is None:
                    session.send_error(event.message_id, ErrorCode.NOT_IMPLEMENTED, "no")
                else:
                    session.send_result(event.message_id, answer)
            for data in session.data_to_send():
                await ws.send(data.decode())

    async with serve(
        handler, "127.0.0.1", 0, subprotocols=[Subprotocol(version.subprotocol)]
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp", received


async def charge_once(url: str, version: OcppVersion) -> Any:
    agent = make_agent(url, "SIM-BARE", version)
    async with running(agent):
        timing = Timing(charge=0.35, idle=0.1)
        await asyncio.wait_for(run_scenario(agent, Scenario.CHARGE, timing, repeat=False), 5)
        await asyncio.wait_for(agent.drained(), 5)
    return agent


async def test_16_station_charges_against_a_csms_without_transactions() -> None:
    async with bare_csms(OcppVersion.V16, boot_only) as (url, received):
        agent = await charge_once(url, OcppVersion.V16)
    actions = [a for a, _ in received]
    assert actions.index("Authorize") < actions.index("StartTransaction")  # refused, charged anyway
    meter = [p for a, p in received if a == "MeterValues"]
    assert meter
    assert all(p["transactionId"] == -1 for p in meter)  # 1.6 errata v4.0 §4.8
    (stop,) = [p for a, p in received if a == "StopTransaction"]
    assert stop["transactionId"] == -1
    assert {a for a, _ in agent.dropped} == {"StartTransaction", "MeterValues", "StopTransaction"}
    assert {e for _, e in agent.dropped} == {"NotImplemented"}
    statuses = [
        p["status"] for a, p in received if a == "StatusNotification" and p["connectorId"] == 1
    ]
    assert statuses[-2:] == ["Finishing", "Available"]
    assert not agent.queue


async def test_invalid_tag_in_the_transaction_answer_stops_charging() -> None:
    """1.6 StopTransactionOnInvalidId / 2.0.1 StopTxOnInvalidId: the CSMS refuses the tag late."""

    def refusing(action: str, payload: Payload) -> Payload | None:
        if action == "StartTransaction":
            return {"transactionId": 5, "idTagInfo": {"status": "Invalid"}}
        if action == "TransactionEvent" and payload["eventType"] == "Started":
            return {"idTokenInfo": {"status": "Invalid"}}
        if action in ("MeterValues", "StopTransaction", "TransactionEvent"):
            return {}
        return boot_only(action, payload)

    for version in (OcppVersion.V16, OcppVersion.V201):
        async with bare_csms(version, refusing) as (url, received):
            await charge_once(url, version)
        if version is OcppVersion.V16:
            (stop,) = [p for a, p in received if a == "StopTransaction"]
            assert (stop["transactionId"], stop["reason"]) == (5, "DeAuthorized")
        else:
            events = [p for a, p in received if a == "TransactionEvent"]
            ended = events[-1]
            assert ended["eventType"] == "Ended"
            assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
            assert ended["triggerReason"] == "Deauthorized"
