"""The same firmware/diagnostics/security commands and handlers on a 2.0.1 station (`ocpp`
package's ChargePoint): the version mapping of UpdateFirmware, GetLog (also for GetDiagnostics),
FirmwareStatusNotification/LogStatusNotification with requestId, SecurityEventNotification,
SignCertificate → CertificateSigned with certificateType, certificate management and
SetVariables(BasicAuthPassword) for password rotation."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action

from tests.integration.harness import RunningCsms

STATION = "CP-201-FW"
HASH = {
    "hash_algorithm": "SHA256",
    "issuer_name_hash": "c" * 64,
    "issuer_key_hash": "d" * 64,
    "serial_number": "2a",
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station201(ChargePoint):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.done: dict[str, asyncio.Event] = {}
        self.downloaded = b""
        self.seen: dict[str, Any] = {}
        self._work: set[asyncio.Task[None]] = set()

    def event(self, name: str) -> asyncio.Event:
        return self.done.setdefault(name, asyncio.Event())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    @on(Action.update_firmware)  # type: ignore[untyped-decorator]
    async def on_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> Any:
        return result201.UpdateFirmware(status="Accepted")

    @after(Action.update_firmware)  # type: ignore[untyped-decorator]
    async def after_update_firmware(
        self, request_id: int, firmware: dict[str, Any], **_: Any
    ) -> None:
        self._spawn(self._install(firmware["location"], request_id))

    async def _install(self, location: str, request_id: int) -> None:
        async with httpx.AsyncClient() as http:
            self.downloaded = (await http.get(location)).content
        for status in ("Downloaded", "Installed"):
            await self.call(
                call201.FirmwareStatusNotification(status=status, request_id=request_id)
            )
        self.event("firmware").set()

    @on(Action.get_log)  # type: ignore[untyped-decorator]
    async def on_get_log(
        self, log_type: str, request_id: int, log: dict[str, Any], **_: Any
    ) -> Any:
        self.seen.setdefault("log_types", []).append(log_type)
        return result201.GetLog(status="Accepted", filename=f"{log_type}.txt")

    @after(Action.get_log)  # type: ignore[untyped-decorator]
    async def after_get_log(
        self, log_type: str, request_id: int, log: dict[str, Any], **_: Any
    ) -> None:
        self._spawn(self._upload(log["remote_location"], log_type, request_id))

    async def _upload(self, location: str, log_type: str, request_id: int) -> None:
        async with httpx.AsyncClient() as http:
            assert (await http.put(f"{location}/{log_type}.txt", content=b"log")).status_code == 201
        await self.call(call201.LogStatusNotification(status="Uploaded", request_id=request_id))
        self.event(log_type).set()

    @on(Action.certificate_signed)  # type: ignore[untyped-decorator]
    async def on_certificate_signed(self, certificate_chain: str, **kwargs: Any) -> Any:
        self.seen["certificate_type"] = kwargs.get("certificate_type")
        self.seen["chain"] = certificate_chain
        self.event("certificate").set()
        return result201.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)  # type: ignore[untyped-decorator]
    async def on_install_certificate(
        self, certificate_type: str, certificate: str, **_: Any
    ) -> Any:
        self.seen["installed_type"] = certificate_type
        return result201.InstallCertificate(status="Accepted")

    @on(Action.get_installed_certificate_ids)  # type: ignore[untyped-decorator]
    async def on_get_installed_certificate_ids(self, **_: Any) -> Any:
        return result201.GetInstalledCertificateIds(
            status="Accepted",
            certificate_hash_data_chain=[
                {"certificate_type": "V2GRootCertificate", "certificate_hash_data": HASH}
            ],
        )

    @on(Action.delete_certificate)  # type: ignore[untyped-decorator]
    async def on_delete_certificate(self, certificate_hash_data: dict[str, str], **_: Any) -> Any:
        return result201.DeleteCertificate(status="Accepted")

    @on(Action.set_variables)  # type: ignore[untyped-decorator]
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        item = set_variable_data[0]
        self.seen["password"] = item["attribute_value"]
        return result201.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "component": item["component"],
                    "variable": item["variable"],
                }
            ]
        )


@asynccontextmanager
async def booted(server: RunningCsms, password: bytes | None = None) -> AsyncIterator[Station201]:
    kwargs: dict[str, Any] = {} if password is None else {"password": password}
    async with server.connect(STATION, subprotocols=["ocpp2.0.1"], **kwargs) as ws:
        cp = Station201(STATION, ws)
        task = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call201.BootNotification(
                    charging_station={"model": "FW", "vendor_name": "csms-tests"}, reason="PowerUp"
                )
            )
            assert boot.status == "Accepted"
            yield cp
        finally:
            task.cancel()


def _csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, STATION)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def test_ocpp201_station_uses_the_same_commands_and_handlers(server: RunningCsms) -> None:
    await server.add_station(STATION)
    image = os.urandom(10_000)
    async with booted(server) as cp, server.api() as api:
        image_id = (
            await api.post("/api/v1/firmware", params={"filename": "fw.bin"}, content=image)
        ).json()["id"]
        sent = (
            await api.post(
                f"/api/v1/stations/{STATION}/firmware-update",
                json={"firmware_id": image_id, "retrieve_date": _now()},
            )
        ).json()
        assert sent["status"] == "Accepted"
        await asyncio.wait_for(cp.event("firmware").wait(), 10)
        assert cp.downloaded == image
        detail = (await api.get(f"/api/v1/file-requests/{sent['request']['id']}")).json()
        assert detail["status"] == "Installed"

        diagnostics = (await api.post(f"/api/v1/stations/{STATION}/diagnostics", json={})).json()
        assert diagnostics["request"]["action"] == "GetLog"
        log = (
            await api.post(f"/api/v1/stations/{STATION}/logs", json={"log_type": "SecurityLog"})
        ).json()
        await asyncio.wait_for(cp.event("DiagnosticsLog").wait(), 10)
        await asyncio.wait_for(cp.event("SecurityLog").wait(), 10)
        assert cp.seen["log_types"] == ["DiagnosticsLog", "SecurityLog"]
        for request in (diagnostics["request"], log["request"]):
            assert (await api.get(f"/api/v1/file-requests/{request['id']}")).json()[
                "status"
            ] == "Uploaded"
        uploads = (await api.get(f"/api/v1/stations/{STATION}/uploads")).json()
        assert sorted(u["filename"] for u in uploads) == ["DiagnosticsLog.txt", "SecurityLog.txt"]

        await cp.call(call201.SecurityEventNotification(type="InvalidTLSVersion", timestamp=_now()))
        critical = (await api.get("/api/v1/security-events", params={"critical": True})).json()
        assert [e["type"] for e in critical] == ["InvalidTLSVersion"]  # critical in 2.0.1 only

        answer = await cp.call(
            call201.SignCertificate(csr=_csr(), certificate_type="ChargingStationCertificate")
        )
        assert answer.status == "Accepted"
        await asyncio.wait_for(cp.event("certificate").wait(), 10)
        assert cp.seen["certificate_type"] == "ChargingStationCertificate"

        installed = await api.post(
            f"/api/v1/stations/{STATION}/certificates",
            json={"certificate_type": "CSMSRootCertificate", "certificate": cp.seen["chain"]},
        )
        assert installed.json() == {"status": "Accepted"}
        assert cp.seen["installed_type"] == "CSMSRootCertificate"
        query = (await api.post(f"/api/v1/stations/{STATION}/certificates/query", json={})).json()
        assert [c["certificate_type"] for c in query["certificates"]] == ["V2GRootCertificate"]
        deleted = await api.post(f"/api/v1/stations/{STATION}/certificates/delete", json=HASH)
        assert deleted.json() == {"status": "Accepted"}
        assert (await api.get(f"/api/v1/stations/{STATION}/certificates")).json() == []

        rotated = (await api.post(f"/api/v1/stations/{STATION}/authorization-key")).json()
        assert rotated == {"status": "Accepted", "rotated": True}
        password = cp.seen["password"]
    async with booted(server, password=password.encode()) as cp:
        assert await cp.call(call201.Heartbeat()) is not None
