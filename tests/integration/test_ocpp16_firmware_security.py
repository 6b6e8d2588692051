"""Firmware management and the security extension, end to end with the `ocpp` package's 1.6
ChargePoint against a real csms over loopback, on SQLite and PostgreSQL.

The station really downloads the firmware over HTTP from csms's file service and really uploads
diagnostics (PUT) and a log (POST multipart) to it. Every message of the two profiles goes both
ways: UpdateFirmware, SignedUpdateFirmware, GetDiagnostics, GetLog, their status notifications,
SecurityEventNotification, SignCertificate → CertificateSigned, InstallCertificate,
GetInstalledCertificateIds, DeleteCertificate, and ChangeConfiguration(AuthorizationKey).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action
from websockets.exceptions import InvalidStatus

from csms.config import LogSettings
from csms.pki import BuiltinCertificateAuthority
from tests.firmware_signing import sign_image
from tests.integration.harness import PASSWORD, RunningCsms, running_csms, settings_for

STATION = "CP-FW-1"
HASH = {
    "hash_algorithm": "SHA256",
    "issuer_name_hash": "a" * 64,
    "issuer_key_hash": "b" * 64,
    "serial_number": "1f",
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station(ChargePoint):  # type: ignore[misc]
    """A 1.6 station with the firmware and security profiles, doing real HTTP transfers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.downloaded: dict[str, bytes] = {}
        self.uploaded: dict[str, bytes] = {}
        self.done: dict[str, asyncio.Event] = {}
        self.certificate_chain: str | None = None
        self.installed: list[dict[str, str]] = []
        self.authorization_key: str | None = None
        self.answer_key_change = "Accepted"
        self._work: set[asyncio.Task[None]] = set()

    def event(self, name: str) -> asyncio.Event:
        return self.done.setdefault(name, asyncio.Event())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # Never await our own CALLs inside a handler: the package reads replies in the same loop.
        task = asyncio.create_task(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    # ---------------------------------------------------------------- firmware

    @on(Action.update_firmware)  # type: ignore[untyped-decorator]
    async def on_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> Any:
        return result16.UpdateFirmware()

    @after(Action.update_firmware)  # type: ignore[untyped-decorator]
    async def after_update_firmware(self, location: str, **_: Any) -> None:
        self._spawn(self._install(location, None, "UpdateFirmware"))

    @on(Action.signed_update_firmware)  # type: ignore[untyped-decorator]
    async def on_signed_update_firmware(
        self, request_id: int, firmware: dict[str, Any], **_: Any
    ) -> Any:
        assert firmware["signing_certificate"] and firmware["signature"]
        return result16.SignedUpdateFirmware(status="Accepted")

    @after(Action.signed_update_firmware)  # type: ignore[untyped-decorator]
    async def after_signed_update_firmware(
        self, request_id: int, firmware: dict[str, Any], **_: Any
    ) -> None:
        self._spawn(self._install(firmware["location"], request_id, "SignedUpdateFirmware"))

    async def _install(self, location: str, request_id: int | None, name: str) -> None:
        async def status(value: str) -> None:
            if request_id is None:
                await self.call(call16.FirmwareStatusNotification(status=value))
            else:
                await self.call(
                    call16.SignedFirmwareStatusNotification(status=value, request_id=request_id)
                )

        await status("Downloading")
        async with httpx.AsyncClient() as http:
            response = await http.get(location)
        assert response.status_code == 200, response.text
        self.downloaded[name] = response.content
        await status("Downloaded")
        if request_id is not None:
            await status("SignatureVerified")
        await status("Installing")
        await status("Installed")
        self.event(name).set()

    # ---------------------------------------------------------------- diagnostics and logs

    @on(Action.get_diagnostics)  # type: ignore[untyped-decorator]
    async def on_get_diagnostics(self, location: str, **_: Any) -> Any:
        return result16.GetDiagnostics(file_name="diagnostics.txt")

    @after(Action.get_diagnostics)  # type: ignore[untyped-decorator]
    async def after_get_diagnostics(self, location: str, **_: Any) -> None:
        self._spawn(self._upload_diagnostics(location))

    async def _upload_diagnostics(self, location: str) -> None:
        await self.call(call16.DiagnosticsStatusNotification(status="Uploading"))
        body = b"diagnostics " * 5000
        async with httpx.AsyncClient() as http:
            response = await http.put(location + "/diagnostics.txt", content=body)
        assert response.status_code == 201, response.text
        self.uploaded["diagnostics"] = body
        await self.call(call16.DiagnosticsStatusNotification(status="Uploaded"))
        self.event("diagnostics").set()

    @on(Action.get_log)  # type: ignore[untyped-decorator]
    async def on_get_log(
        self, log_type: str, request_id: int, log: dict[str, Any], **_: Any
    ) -> Any:
        return result16.GetLog(status="Accepted", filename="security.log")

    @after(Action.get_log)  # type: ignore[untyped-decorator]
    async def after_get_log(self, request_id: int, log: dict[str, Any], **_: Any) -> None:
        self._spawn(self._upload_log(log["remote_location"], request_id))

    async def _upload_log(self, location: str, request_id: int) -> None:
        await self.call(call16.LogStatusNotification(status="Uploading", request_id=request_id))
        body = os.urandom(70_000)
        async with httpx.AsyncClient() as http:
            response = await http.post(
                location, files={"file": ("security.log", body, "application/octet-stream")}
            )
        assert response.status_code == 201, response.text
        self.uploaded["log"] = body
        await self.call(call16.LogStatusNotification(status="Uploaded", request_id=request_id))
        self.event("log").set()

    # ---------------------------------------------------------------- certificates

    @on(Action.certificate_signed)  # type: ignore[untyped-decorator]
    async def on_certificate_signed(self, certificate_chain: str, **_: Any) -> Any:
        self.certificate_chain = certificate_chain
        self.event("certificate").set()
        return result16.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)  # type: ignore[untyped-decorator]
    async def on_install_certificate(self, certificate_type: str, certificate: str) -> Any:
        assert certificate_type == "CentralSystemRootCertificate"
        self.installed.append(HASH)
        return result16.InstallCertificate(status="Accepted")

    @on(Action.get_installed_certificate_ids)  # type: ignore[untyped-decorator]
    async def on_get_installed_certificate_ids(self, certificate_type: str) -> Any:
        if certificate_type != "CentralSystemRootCertificate" or not self.installed:
            return result16.GetInstalledCertificateIds(status="NotFound")
        return result16.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data=list(self.installed)
        )

    @on(Action.delete_certificate)  # type: ignore[untyped-decorator]
    async def on_delete_certificate(self, certificate_hash_data: dict[str, str]) -> Any:
        self.installed.remove(certificate_hash_data)
        return result16.DeleteCertificate(status="Accepted")

    # ---------------------------------------------------------------- password

    @on(Action.change_configuration)  # type: ignore[untyped-decorator]
    async def on_change_configuration(self, key: str, value: str) -> Any:
        assert key == "AuthorizationKey"
        if self.answer_key_change == "Accepted":
            self.authorization_key = value
        return result16.ChangeConfiguration(status=self.answer_key_change)


@asynccontextmanager
async def started(cp: Station) -> AsyncIterator[Station]:
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=database_url),
        log=LogSettings(frames=True),  # every frame logged: the key must still not appear
    )
    async with running_csms(settings) as running:
        await running.add_station(STATION)
        yield running


@asynccontextmanager
async def booted(server: RunningCsms, password: bytes = PASSWORD) -> AsyncIterator[Station]:
    async with (
        server.connect(STATION, password=password) as ws,
        started(Station(STATION, ws)) as cp,
    ):
        boot = await cp.call(
            call16.BootNotification(charge_point_model="FW", charge_point_vendor="csms-tests")
        )
        assert boot.status == "Accepted"
        yield cp


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _history(api: httpx.AsyncClient, request_id: int) -> list[str]:
    detail = await _ok(await api.get(f"/api/v1/file-requests/{request_id}"))
    return [entry["status"] for entry in detail["history"]]


async def _assert_history(
    api: httpx.AsyncClient, request_id: int, notified: list[str], phase: str
) -> None:
    """Requested first, then the station's notifications in order; its answer (Accepted) may
    land anywhere after Requested, as the station may notify before csms stored the answer."""
    detail = await _ok(await api.get(f"/api/v1/file-requests/{request_id}"))
    history = [entry["status"] for entry in detail["history"]]
    assert history[0] == "Requested"
    assert sorted(history[1:]) == sorted(["Accepted", *notified])
    assert [s for s in history if s != "Accepted"][1:] == notified
    assert detail["status"] == notified[-1]
    assert detail["phase"] == phase


async def test_firmware_update_downloads_the_image_and_records_every_status(
    server: RunningCsms,
) -> None:
    image = os.urandom(300_000)
    async with booted(server) as cp, server.api() as api:
        uploaded = await _ok(
            await api.post("/api/v1/firmware", params={"filename": "fw 1.2.bin"}, content=image),
            201,
        )
        assert uploaded["sha256"] == hashlib.sha256(image).hexdigest()
        assert uploaded["size"] == len(image)
        assert uploaded["filename"] == "fw_1.2.bin"

        sent = await _ok(
            await api.post(
                f"/api/v1/stations/{STATION}/firmware-update",
                json={"firmware_id": uploaded["id"], "retrieve_date": _now(), "retries": 2},
            )
        )
        assert sent["status"] == "Accepted"
        assert sent["request"]["action"] == "UpdateFirmware"
        await asyncio.wait_for(cp.event("UpdateFirmware").wait(), 10)
        assert cp.downloaded["UpdateFirmware"] == image
        request_id = sent["request"]["id"]
        await _assert_history(
            api, request_id, ["Downloading", "Downloaded", "Installing", "Installed"], "succeeded"
        )
        listed = await _ok(await api.get(f"/api/v1/stations/{STATION}/file-requests"))
        assert listed[0]["id"] == request_id

        certificate, signature = sign_image(image)
        signed = await _ok(
            await api.post(
                f"/api/v1/stations/{STATION}/firmware-update",
                json={
                    "firmware_id": uploaded["id"],
                    "retrieve_date": _now(),
                    "signing_certificate": certificate,
                    "signature": signature,
                },
            )
        )
        assert signed["status"] == "Accepted"
        assert signed["request"]["action"] == "SignedUpdateFirmware"
        await asyncio.wait_for(cp.event("SignedUpdateFirmware").wait(), 10)
        assert cp.downloaded["SignedUpdateFirmware"] == image
        await _assert_history(
            api,
            signed["request"]["id"],
            ["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"],
            "succeeded",
        )
        # An Idle status (e.g. after a TriggerMessage) is answered and belongs to no request.
        assert await cp.call(call16.FirmwareStatusNotification(status="Idle")) is not None
        assert (await _history(api, request_id))[-1] == "Installed"
        listed = await _ok(await api.get(f"/api/v1/stations/{STATION}/file-requests"))
        assert [r["status"] for r in listed] == ["Installed", "Installed"]


async def test_diagnostics_and_log_uploads_reach_the_file_service(server: RunningCsms) -> None:
    async with booted(server) as cp, server.api() as api:
        diagnostics = await _ok(
            await api.post(f"/api/v1/stations/{STATION}/diagnostics", json={"retries": 1})
        )
        assert diagnostics["status"] == "Accepted"
        assert diagnostics["filename"] == "diagnostics.txt"
        await asyncio.wait_for(cp.event("diagnostics").wait(), 10)

        log = await _ok(
            await api.post(f"/api/v1/stations/{STATION}/logs", json={"log_type": "SecurityLog"})
        )
        assert log["status"] == "Accepted"
        await asyncio.wait_for(cp.event("log").wait(), 10)

        uploads = await _ok(await api.get(f"/api/v1/stations/{STATION}/uploads"))
        by_name = {u["filename"]: u for u in uploads}
        assert set(by_name) == {"diagnostics.txt", "security.log"}
        for name, key in (("diagnostics.txt", "diagnostics"), ("security.log", "log")):
            body = cp.uploaded[key]
            assert by_name[name]["size"] == len(body)
            assert by_name[name]["sha256"] == hashlib.sha256(body).hexdigest()
            content = await api.get(f"/api/v1/uploads/{by_name[name]['id']}/content")
            assert content.status_code == 200
            assert content.content == body
        for request in (diagnostics["request"], log["request"]):
            await _assert_history(api, request["id"], ["Uploading", "Uploaded"], "succeeded")


async def test_security_events_are_stored_and_critical_ones_surfaced(
    server: RunningCsms, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="csms")
    async with booted(server) as cp, server.api() as api:
        for event_type in ("TamperDetectionActivated", "FailedToAuthenticateAtCentralSystem"):
            reply = await cp.call(
                call16.SecurityEventNotification(type=event_type, timestamp=_now(), tech_info="lid")
            )
            assert reply is not None  # SecurityEventNotification.conf is empty
        everything = await _ok(
            await api.get("/api/v1/security-events", params={"station_id": STATION})
        )
        assert [e["type"] for e in everything] == [
            "FailedToAuthenticateAtCentralSystem",
            "TamperDetectionActivated",
        ]
        critical = await _ok(await api.get("/api/v1/security-events", params={"critical": True}))
        assert [e["type"] for e in critical] == ["TamperDetectionActivated"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("TamperDetectionActivated" in r.getMessage() for r in warnings)
    assert not any("FailedToAuthenticate" in r.getMessage() for r in warnings)


def _csr(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "csms-tests"),
                ]
            )
        )
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def test_sign_certificate_then_certificate_signed_and_certificate_management(
    server: RunningCsms,
) -> None:
    async with booted(server) as cp, server.api() as api:
        answer = await cp.call(call16.SignCertificate(csr=_csr(STATION)))
        assert answer.status == "Accepted"
        await asyncio.wait_for(cp.event("certificate").wait(), 10)
        assert cp.certificate_chain is not None
        leaf, ca = x509.load_pem_x509_certificates(cp.certificate_chain.encode())
        leaf.verify_directly_issued_by(ca)
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION
        assert server.csms.security_block is not None
        await server.csms.security_block.drain()
        requests = await _ok(await api.get(f"/api/v1/stations/{STATION}/certificate-requests"))
        assert requests[0]["status"] == "Signed"

        # Garbage is Rejected at once (A02.FR.12) and nothing is sent.
        refused = await cp.call(call16.SignCertificate(csr="not a CSR"))
        assert refused.status == "Rejected"

        ca_dir = Path(server.csms.settings.files.data_dir) / "ca"
        root = await BuiltinCertificateAuthority(ca_dir).root_certificate_pem()
        installed = await _ok(
            await api.post(
                f"/api/v1/stations/{STATION}/certificates",
                json={"certificate_type": "CSMSRootCertificate", "certificate": root},
            )
        )
        assert installed == {"status": "Accepted"}
        query = await _ok(
            await api.post(
                f"/api/v1/stations/{STATION}/certificates/query",
                json={"certificate_types": ["CSMSRootCertificate"]},
            )
        )
        assert query["status"] == "Accepted"
        stored = await _ok(await api.get(f"/api/v1/stations/{STATION}/certificates"))
        assert [c["hash_data"]["serial_number"] for c in stored] == ["1f"]
        assert stored[0]["certificate_type"] == "CSMSRootCertificate"
        deleted = await _ok(
            await api.post(f"/api/v1/stations/{STATION}/certificates/delete", json=HASH)
        )
        assert deleted == {"status": "Accepted"}
        assert cp.installed == []
        assert await _ok(await api.get(f"/api/v1/stations/{STATION}/certificates")) == []


async def test_authorization_key_rotation_switches_the_password_only_after_accepted(
    server: RunningCsms, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="csms")
    async with booted(server) as cp, server.api() as api:
        cp.answer_key_change = "Rejected"
        refused = await _ok(await api.post(f"/api/v1/stations/{STATION}/authorization-key"))
        assert refused == {"status": "Rejected", "rotated": False}
    async with booted(server) as cp, server.api() as api:  # the old password still works
        rotated = await _ok(await api.post(f"/api/v1/stations/{STATION}/authorization-key"))
        assert rotated == {"status": "Accepted", "rotated": True}
        key = cp.authorization_key
    assert key is not None and len(key) == 40
    assert key not in caplog.text
    with pytest.raises(InvalidStatus) as refused_old:
        async with booted(server):
            pass
    assert refused_old.value.response.status_code == 401
    async with booted(server, password=key.encode()) as cp:
        assert await cp.call(call16.Heartbeat()) is not None
