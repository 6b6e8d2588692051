"""OCPP over SOAP (issue 12): TLS as on the WebSocket endpoint (security profile 2), and a SOAP
station going offline when it stops calling."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx

from csms.domain.model import RegistrationStatus
from tests.integration.harness import PASSWORD, running_csms, settings_for
from tests.integration.test_soap import SOAP12, _envelope, soap_station
from tests.integration.tls import make_certificates


async def test_soap_over_tls_under_security_profile_2(tmp_path: Path) -> None:
    ca, [(cert, key)] = make_certificates(tmp_path, ("ECDSA",))
    settings = settings_for(
        tmp_path,
        security_profile=2,
        tls_cert=str(cert),
        tls_key=str(key),
        soap_enabled=True,
        soap_port=0,
    )
    async with running_csms(settings) as server:
        await server.add_station("SOAP-TLS")
        port = server.csms.soap_port
        context = ssl.create_default_context(cafile=str(ca))
        async with httpx.AsyncClient(
            verify=context, auth=("SOAP-TLS", PASSWORD.decode())
        ) as client:
            boot = (
                "<bootNotificationRequest><chargePointVendor>V</chargePointVendor>"
                "<chargePointModel>M</chargePointModel></bootNotificationRequest>"
            )
            reply = await client.post(
                f"https://127.0.0.1:{port}/",
                content=_envelope("SOAP-TLS", boot, action="/BootNotification"),
                headers={"Content-Type": "application/soap+xml"},
            )
            assert reply.status_code == 200, reply.text
            assert SOAP12.encode() in reply.content and b"bootNotificationResponse" in reply.content
        # Plain HTTP to the TLS port is not served.
        async with httpx.AsyncClient() as client:
            try:
                plain = await client.post(f"http://127.0.0.1:{port}/", content=b"x")
            except httpx.HTTPError:
                pass
            else:
                assert plain.status_code >= 400


async def test_a_silent_soap_station_goes_offline(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, soap_enabled=True, soap_port=0, heartbeat_interval=1, soap_presence_grace=0.5
    )
    async with running_csms(settings) as server:
        await server.add_station("SOAP-IDLE", status=RegistrationStatus.ACCEPTED)
        cp = soap_station(f"http://127.0.0.1:{server.csms.soap_port}/", "SOAP-IDLE")
        await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        async with server.api() as api:
            online = (await api.get("/api/v1/stations/SOAP-IDLE")).json()
            assert (online["online"], online["transport"]) == (True, "soap")
            for _ in range(40):  # the sweeper runs every second here
                await asyncio.sleep(0.1)
                stored = await api.get("/api/v1/stations", params={"online": "false"})
                if [s["id"] for s in stored.json()["items"]] == ["SOAP-IDLE"]:
                    break
            offline = (await api.get("/api/v1/stations/SOAP-IDLE")).json()
        assert (offline["online"], offline["transport"], offline["ocpp_version"]) == (
            False,
            None,
            "1.6",
        )
        assert [s["id"] for s in stored.json()["items"]] == ["SOAP-IDLE"]
