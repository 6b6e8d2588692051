"""OCPP over SOAP beside OCPP-J 1.6 in one run (issue 12): Heartbeat and MeterValues calls/s and
CPU per call, one station per transport, calls one after another (latency-bound) and 16 at once.

Client and server share this process, so "CPU per call" counts both sides of each call, for both
transports alike. Usage: ``.venv/bin/python benchmarks/soap.py [calls]`` (default 2000; a smoke
run in tests/integration/test_soap_benchmark.py keeps it working).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from csms.config import (
    ApiSettings,
    DatabaseSettings,
    FilesSettings,
    LogSettings,
    ServerSettings,
    Settings,
)
from csms.container import Csms
from csms.domain.credentials import hash_password
from csms.domain.model import RegistrationStatus, Station

PASSWORD = b"bench-password-0123456789"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "urn://Ocpp/Cs/2015/10/"
WSA = "http://www.w3.org/2005/08/addressing"


def envelope(action: str, body: str) -> bytes:
    body = body.replace("Request", f'Request xmlns="{NS}"', 1)
    return (
        f'<env:Envelope xmlns:env="{SOAP12}" xmlns:wsa="{WSA}"><env:Header>'
        f'<cs:chargeBoxIdentity xmlns:cs="{NS}">B-SOAP</cs:chargeBoxIdentity>'
        f"<wsa:MessageID>urn:uuid:1</wsa:MessageID><wsa:Action>/{action}</wsa:Action>"
        "<wsa:From><wsa:Address>http://192.0.2.1/cp</wsa:Address></wsa:From>"
        f"</env:Header><env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def meter_xml() -> str:
    now = datetime.now(UTC).isoformat()
    return (
        "<meterValuesRequest><connectorId>1</connectorId><meterValue>"
        f"<timestamp>{now}</timestamp><sampledValue><value>1234</value>"
        "<measurand>Energy.Active.Import.Register</measurand><unit>Wh</unit></sampledValue>"
        "</meterValue></meterValuesRequest>"
    )


def meter_json() -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    sample = {"value": "1234", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    return {"connectorId": 1, "meterValue": [{"timestamp": now, "sampledValue": [sample]}]}


async def timed(label: str, n: int, concurrency: int, one: Any) -> None:
    queue = iter(range(n))

    async def worker() -> None:
        for _ in queue:
            await one()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sys.stdout.write(f"| {label} | {concurrency} | {n / wall:,.0f} | {cpu / n * 1000:.2f} |\n")


async def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        server=dataclasses.replace(ServerSettings(), port=0, soap_enabled=True, soap_port=0),
        database=dataclasses.replace(DatabaseSettings(), url=f"sqlite+aiosqlite:///{tmp}/b.db"),
        api=dataclasses.replace(ApiSettings(), enabled=False),
        log=LogSettings(),
        files=dataclasses.replace(FilesSettings(), data_dir=str(tmp / "data")),
    )
    csms = Csms(settings)
    await csms.start()
    assert csms.store is not None
    for sid in ("B-SOAP", "B-JSON"):
        await csms.store.stations.add(
            Station(sid, RegistrationStatus.ACCEPTED, password_hash=hash_password(PASSWORD),
                    created_at=datetime.now(UTC))
        )  # fmt: skip
    url = f"http://127.0.0.1:{csms.soap_port}/"
    boot = (
        "<bootNotificationRequest><chargePointVendor>V</chargePointVendor>"
        "<chargePointModel>M</chargePointModel></bootNotificationRequest>"
    )
    headers = {"Content-Type": "application/soap+xml"}
    sys.stdout.write(
        "| transport, call | concurrent | calls/s | CPU ms/call |\n|---|---:|---:|---:|\n"
    )
    limits = httpx.Limits(max_keepalive_connections=16)
    async with httpx.AsyncClient(auth=("B-SOAP", PASSWORD.decode()), limits=limits) as http:
        assert (
            await http.post(url, content=envelope("BootNotification", boot), headers=headers)
        ).status_code == 200
        hb = envelope("Heartbeat", "<heartbeatRequest/>")

        async def soap_heartbeat() -> None:
            reply = await http.post(url, content=hb, headers=headers)
            assert reply.status_code == 200, reply.text

        async def soap_meter() -> None:
            reply = await http.post(
                url, content=envelope("MeterValues", meter_xml()), headers=headers
            )
            assert reply.status_code == 200, reply.text

        for c in (1, 16):
            await timed("SOAP 1.6 Heartbeat", n, c, soap_heartbeat)
            await timed("SOAP 1.6 MeterValues", n, c, soap_meter)
    auth = {
        "Authorization": "Basic " + __import__("base64").b64encode(b"B-JSON:" + PASSWORD).decode()
    }
    async with connect(
        f"ws://127.0.0.1:{csms.ocpp_port}/ocpp/B-JSON",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=auth,
    ) as ws:
        counter = iter(range(10**9))
        lock = asyncio.Lock()

        async def call(action: str, payload: dict[str, Any]) -> None:
            async with lock:  # OCPP-J: one outstanding CALL per direction
                await ws.send(orjson.dumps([2, str(next(counter)), action, payload]).decode())
                reply = orjson.loads(await ws.recv())
                assert reply[0] == 3, reply

        await call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        await timed("OCPP-J 1.6 Heartbeat", n, 1, lambda: call("Heartbeat", {}))
        await timed("OCPP-J 1.6 MeterValues", n, 1, lambda: call("MeterValues", meter_json()))
    await csms.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
