"""OCPP 2.0.1 Part 6 §3.13, L FirmwareManagement: the CSMS test cases, the OCTT's side played over
a real WebSocket against a running csms.

The operator uploads an image and sends UpdateFirmware through the HTTP API with the signing
certificate and signature that came with the image (<Configured signingCertificate> /
<Configured signature>): a real ECDSA certificate and a real signature of the image, which the
OCTT checks against what it downloads from the request's location. Every FirmwareStatusNotification
the OCTT sends is found, in order, in the request's status history.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.firmware_signing import sign_image, verify_image
from tests.integration.conformance.octt import (
    STATION,
    Octt,
    background,
    connected,
)
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]
IMAGE = b"OCTT firmware image\x00" * 512
# What an installation that succeeds reports before the station reboots (L01).
DOWNLOAD_AND_VERIFY = ("Downloading", "Downloaded", "SignatureVerified")
INSTALL = ("Installing", "InstallRebooting")


def _signed_image() -> tuple[str, str]:
    """<Configured signingCertificate> and <Configured signature> of the image."""
    return sign_image(IMAGE)


def _verify(firmware: Payload, image: bytes) -> None:
    """What the OCTT's station does before SignatureVerified."""
    verify_image(firmware["signingCertificate"], firmware["signature"], image)


async def _upload(server: RunningCsms) -> str:
    async with server.api() as api:
        response = await api.post("/api/v1/firmware", params={"filename": "fw.bin"}, content=IMAGE)
    assert response.status_code == 201, response.text
    image_id: str = response.json()["id"]
    return image_id


async def _post_update(server: RunningCsms, body: Payload) -> Payload:
    async with server.api() as api:
        response = await api.post(f"/api/v1/stations/{STATION}/firmware-update", json=body)
    assert response.status_code == 200, response.text
    result: Payload = response.json()
    return result


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def _update_firmware(
    server: RunningCsms,
    octt: Octt,
    answer: str = "Accepted",
    *,
    retrieve: datetime | None = None,
    install: datetime | None = None,
) -> tuple[int, Payload]:
    """Manual Action: the operator sends a signed firmware update; the OCTT answers ``answer``.

    Returns the requestId and the request's ``firmware``."""
    certificate, signature = _signed_image()
    body: Payload = {
        "firmware_id": await _upload(server),
        "retrieve_date": _iso(retrieve or datetime.now(UTC)),
        "signing_certificate": certificate,
        "signature": signature,
    }
    if install is not None:
        body["install_date"] = _iso(install)
    task = background(_post_update(server, body))
    request = await octt.answer("UpdateFirmware", {"status": answer})
    firmware = request["firmware"]
    # Tool validation, step 1: the configured signing certificate and signature.
    assert (firmware["signingCertificate"], firmware["signature"]) == (certificate, signature)
    result = await task
    assert result["status"] == answer
    assert result["request"]["id"] == request["requestId"]
    return int(request["requestId"]), firmware


async def _statuses(octt: Octt, request_id: int, statuses: Sequence[str]) -> None:
    for status in statuses:
        payload = {"status": status, "requestId": request_id}
        assert await octt.call("FirmwareStatusNotification", payload) == {}


async def _download(firmware: Payload) -> bytes:
    """The OCTT's station fetches the image from the request's location."""
    async with httpx.AsyncClient() as http:
        response = await http.get(firmware["location"])
    assert response.status_code == 200
    return response.content


async def _reboot_and_finish(server: RunningCsms, request_id: int, final: str) -> None:
    """InstallRebooting done: the station reconnects, boots (reason FirmwareUpdate, Accepted),
    reports its connectors and then the outcome of the installation."""
    async with connected(server) as octt:
        boot = await octt.boot("FirmwareUpdate")
        assert boot["status"] == "Accepted"  # tool validation of the BootNotificationResponse
        await octt.connector_status(1, 1, "Available")
        await _statuses(octt, request_id, (final,))


async def _history(server: RunningCsms, request_id: int) -> list[str]:
    async with server.api() as api:
        response = await api.get(f"/api/v1/file-requests/{request_id}")
    assert response.status_code == 200, response.text
    return [entry["status"] for entry in response.json()["history"]]


async def _requested(server: RunningCsms, request_id: int) -> Payload:
    async with server.api() as api:
        response = await api.get(f"/api/v1/file-requests/{request_id}")
    result: Payload = response.json()
    return result


async def test_TC_L_01_CSMS_secure_firmware_update_installation_successful(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id, firmware = await _update_firmware(server, octt)
        await _statuses(octt, request_id, ("Downloading",))
        _verify(firmware, await _download(firmware))
        await _statuses(octt, request_id, DOWNLOAD_AND_VERIFY[1:] + INSTALL)
    await _reboot_and_finish(server, request_id, "Installed")
    assert await _history(server, request_id) == [
        "Requested",
        "Accepted",
        *DOWNLOAD_AND_VERIFY,
        *INSTALL,
        "Installed",
    ]
    assert (await _requested(server, request_id))["status"] == "Installed"


async def test_TC_L_02_CSMS_secure_firmware_update_install_scheduled(server: RunningCsms) -> None:
    install = datetime.now(UTC) + timedelta(hours=1)
    async with connected(server) as octt:
        await octt.booted()
        request_id, firmware = await _update_firmware(server, octt, install=install)
        # Tool validation, step 1: installDateTime in the future.
        assert datetime.fromisoformat(firmware["installDateTime"]) > datetime.now(UTC)
        await _statuses(octt, request_id, (*DOWNLOAD_AND_VERIFY, "InstallScheduled", *INSTALL))
    await _reboot_and_finish(server, request_id, "Installed")
    assert "InstallScheduled" in await _history(server, request_id)


async def test_TC_L_03_CSMS_secure_firmware_update_download_scheduled(server: RunningCsms) -> None:
    retrieve = datetime.now(UTC) + timedelta(hours=1)
    async with connected(server) as octt:
        await octt.booted()
        request_id, firmware = await _update_firmware(server, octt, retrieve=retrieve)
        # Tool validation, step 1: retrieveDateTime in the future.
        assert datetime.fromisoformat(firmware["retrieveDateTime"]) > datetime.now(UTC)
        await _statuses(octt, request_id, ("DownloadScheduled", *DOWNLOAD_AND_VERIFY, *INSTALL))
    await _reboot_and_finish(server, request_id, "Installed")
    assert (await _history(server, request_id))[:3] == [
        "Requested",
        "Accepted",
        "DownloadScheduled",
    ]


async def _refused(server: RunningCsms, answer: str) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id, _ = await _update_firmware(server, octt, answer)
        await octt.nothing_sent()
    assert (await _requested(server, request_id))["status"] == answer


async def test_TC_L_04_CSMS_secure_firmware_update_revoked_certificate(
    server: RunningCsms,
) -> None:
    await _refused(server, "RevokedCertificate")


async def test_TC_L_05_CSMS_secure_firmware_update_invalid_certificate(
    server: RunningCsms,
) -> None:
    await _refused(server, "InvalidCertificate")


async def test_TC_L_06_CSMS_secure_firmware_update_invalid_signature(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id, _ = await _update_firmware(server, octt)
        await _statuses(octt, request_id, ("Downloading", "Downloaded", "InvalidSignature"))
    assert (await _requested(server, request_id))["status"] == "InvalidSignature"


async def test_TC_L_07_CSMS_secure_firmware_update_download_failed(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id, _ = await _update_firmware(server, octt)
        await _statuses(octt, request_id, ("Downloading", "DownloadFailed"))
    assert (await _requested(server, request_id))["status"] == "DownloadFailed"


async def test_TC_L_08_CSMS_secure_firmware_update_install_verification_failed(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id, _ = await _update_firmware(server, octt)
        statuses = (*DOWNLOAD_AND_VERIFY, "Installing", "InstallVerificationFailed")
        await _statuses(octt, request_id, statuses)
    assert await _history(server, request_id) == ["Requested", "Accepted", *statuses]


async def test_TC_L_09_CSMS_secure_firmware_update_installation_failed(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id, _ = await _update_firmware(server, octt)
        await _statuses(octt, request_id, (*DOWNLOAD_AND_VERIFY, *INSTALL))
    await _reboot_and_finish(server, request_id, "InstallationFailed")
    assert (await _requested(server, request_id))["status"] == "InstallationFailed"


async def test_TC_L_10_CSMS_secure_firmware_update_accepted_canceled(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        first, _ = await _update_firmware(server, octt)
        await _statuses(octt, first, ("Downloading",))
        # While the first one downloads, the operator sends another update (L01.FR.24).
        second, _ = await _update_firmware(server, octt, "AcceptedCanceled")
        await _statuses(octt, second, (*DOWNLOAD_AND_VERIFY, *INSTALL))
    await _reboot_and_finish(server, second, "Installed")
    # csms files the first update as canceled: the station dropped it for the second.
    assert await _history(server, first) == ["Requested", "Accepted", "Downloading", "Canceled"]
    assert (await _requested(server, first))["phase"] == "canceled"
    assert await _history(server, second) == [
        "Requested",
        "AcceptedCanceled",
        *DOWNLOAD_AND_VERIFY,
        *INSTALL,
        "Installed",
    ]


async def test_TC_L_11_CSMS_secure_firmware_update_unable_to_cancel(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        first, _ = await _update_firmware(server, octt)
        await _statuses(octt, first, ("Downloading",))
        second, _ = await _update_firmware(server, octt, "Rejected")  # L01.FR.27
        await _statuses(octt, first, (*DOWNLOAD_AND_VERIFY[1:], *INSTALL))
    await _reboot_and_finish(server, first, "Installed")
    assert (await _requested(server, first))["status"] == "Installed"
    assert await _history(server, second) == ["Requested", "Rejected"]


async def test_TC_L_13_CSMS_firmware_update_with_ongoing_transaction(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(((1, 1), (2, 1)))
        tx = octt.transaction()
        await tx.energy_transfer_started()
        request_id, firmware = await _update_firmware(server, octt)
        assert "signingCertificate" in firmware  # tool validation, step 1
        await _statuses(octt, request_id, ("DownloadScheduled",))
        # AllowNewSessionsPendingFirmwareUpdate false: the idle connectors go Unavailable.
        await octt.connector_status(2, 1, "Unavailable")
        await tx.stop_authorized()
        await tx.ev_connected_post_session()
        await tx.ev_disconnected()
        await _statuses(octt, request_id, (*DOWNLOAD_AND_VERIFY, *INSTALL))
    await _reboot_and_finish(server, request_id, "Installed")
    history = await _history(server, request_id)
    assert history == [
        "Requested",
        "Accepted",
        "DownloadScheduled",
        *DOWNLOAD_AND_VERIFY,
        *INSTALL,
        "Installed",
    ]


async def test_firmware_status_before_the_answer_is_kept(server: RunningCsms) -> None:
    """A station may report Downloading before csms has read its UpdateFirmwareResponse; the
    status is still filed under the request (requestId is known once the request is sent)."""
    async with connected(server) as octt:
        await octt.booted()
        certificate, signature = _signed_image()
        body = {
            "firmware_id": await _upload(server),
            "retrieve_date": _iso(datetime.now(UTC)),
            "signing_certificate": certificate,
            "signature": signature,
        }
        task = background(_post_update(server, body))
        message_id, request = await octt.expect("UpdateFirmware")
        await _statuses(octt, request["requestId"], ("Downloading",))
        await octt.reply(message_id, {"status": "Accepted"})
        assert (await asyncio.wait_for(task, 5))["status"] == "Accepted"
    assert "Downloading" in await _history(server, request["requestId"])


async def test_publish_firmware_to_a_local_controller(server: RunningCsms) -> None:
    """L03/L04 (no Part 6 CSMS case): the operator publishes a stored image through a local
    controller (the OCTT); the controller downloads it from csms's URL, checks the MD5 csms sent,
    reports progress (kept whole and in the request's history), and unpublishes it."""
    image_id = await _upload(server)

    async def post(path: str, body: Payload) -> Payload:
        async with server.api() as api:
            response = await api.post(f"/api/v1/stations/{STATION}/{path}", json=body)
        assert response.status_code == 200, response.text
        result: Payload = response.json()
        return result

    async with connected(server) as octt:
        await octt.booted()
        task = background(post("firmware-publish", {"firmware_id": image_id, "retries": 2}))
        request = await octt.answer("PublishFirmware", {"status": "Accepted"})
        assert request["checksum"] == hashlib.md5(IMAGE, usedforsecurity=False).hexdigest()
        assert request["retries"] == 2
        sent = await task
        request_id = request["requestId"]
        assert (sent["status"], sent["request"]["id"]) == ("Accepted", request_id)
        assert await _download({"location": request["location"]}) == IMAGE
        for status in ("Downloading", "Downloaded", "ChecksumVerified"):
            payload = {"status": status, "requestId": request_id}
            assert await octt.call("PublishFirmwareStatusNotification", payload) == {}
        published = {
            "status": "Published",
            "requestId": request_id,
            "location": ["http://lc.local/fw.bin"],
        }
        assert await octt.call("PublishFirmwareStatusNotification", published) == {}

        task = background(post("firmware-unpublish", {"firmware_id": image_id}))
        request = await octt.answer("UnpublishFirmware", {"status": "Unpublished"})
        assert request == {"checksum": hashlib.md5(IMAGE, usedforsecurity=False).hexdigest()}
        assert await task == {"status": "Unpublished"}
    assert await _history(server, request_id) == [
        "Requested",
        "Accepted",
        "Downloading",
        "Downloaded",
        "ChecksumVerified",
        "Published",
    ]
    assert (await _requested(server, request_id))["phase"] == "succeeded"
    async with server.api() as api:
        kept = await api.get(
            f"/api/v1/stations/{STATION}/notifications",
            params={"action": "PublishFirmwareStatusNotification", "request_id": request_id},
        )
    assert kept.json()[0]["payload"]["location"] == ["http://lc.local/fw.bin"]
