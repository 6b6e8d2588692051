"""A station facing a CSMS that implements little: CALLERRORs are logged, nothing queues forever.

The peer here is a minimal CSMS built on csms's own sans-I/O RpcSession that accepts the boot and
answers every other station CALL with CALLERROR NotImplemented, so the test holds whatever csms
itself implements.
"""

from __future__ import annotations

import asyncio
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

ANSWERED = {"BootNotification", "Heartbeat", "StatusNotification"}


async def test_16_station_charges_against_a_csms_without_transactions() -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    async def handler(ws: ServerConnection) -> None:
        session = RpcSession(OcppVersion.V16)
        async for message in ws:
            for event in session.receive(message, 0.0):
                if type(event) is not CallReceived:
                    continue
                received.append((event.action, event.payload))
                if event.action == "BootNotification":
                    now = datetime.now(UTC).isoformat()
                    reply = {"status": "Accepted", "currentTime": now, "interval": 60}
                    session.send_result(event.message_id, reply)
                elif event.action in ANSWERED:
                    session.send_result(event.message_id, {})
                else:
                    session.send_error(event.message_id, ErrorCode.NOT_IMPLEMENTED, "no")
            for data in session.data_to_send():
                await ws.send(data.decode())

    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as server:
        port = server.sockets[0].getsockname()[1]
        agent = make_agent(f"ws://127.0.0.1:{port}/ocpp", "SIM-BARE", OcppVersion.V16)
        async with running(agent):
            timing = Timing(charge=0.35, idle=0.1)
            await asyncio.wait_for(run_scenario(agent, Scenario.CHARGE, timing, repeat=False), 5)
            await asyncio.wait_for(agent.drained(), 5)
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
