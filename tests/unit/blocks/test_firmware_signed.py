"""Signed UpdateFirmware refuses what no station could verify; AcceptedCanceled (L01.FR.24,
N01) files the transfer the station dropped as Canceled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csms.blocks.diagnostics.commands import get_log
from csms.blocks.file_service import FileService
from csms.blocks.firmware.commands import update_firmware
from csms.domain.errors import InvalidPayload
from csms.domain.files import TransferKind, TransferPhase
from csms.messages import MessageValidator
from csms.rpc import OcppVersion
from csms.storage import Store
from tests.firmware_signing import sign_image
from tests.unit.blocks.test_fwsec_commands import _files, _one, store

__all__ = ["store"]  # the fixture, imported for these tests

WHEN = datetime(2030, 1, 1, tzinfo=UTC)
FIRMWARE = (TransferKind.FIRMWARE,)


class Station201:
    """A 2.0.1 station answering every request with ``status``, schema-checked both ways."""

    def __init__(self) -> None:
        self.validator = MessageValidator(OcppVersion.V201)
        self.sent: list[str] = []
        self.status = "Accepted"

    def is_connected(self, station_id: str) -> bool:
        return True

    def ocpp_version(self, station_id: str) -> str | None:
        return OcppVersion.V201.value

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        self.validator.validate_request(action, payload)
        self.sent.append(action)
        reply = {"status": self.status}
        self.validator.validate_response(action, reply)
        return reply


@pytest.fixture
async def files(store: Store, tmp_path: Path) -> AsyncIterator[FileService]:
    yield _files(store, tmp_path)


@pytest.mark.parametrize(
    ("certificate", "signature", "path"),
    [
        (
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            None,
            "signingCertificate",
        ),
        ("not a certificate", None, "signingCertificate"),
        (None, "not base64!", "signature"),
        (None, "A" * 804, ""),
    ],
)
async def test_a_signed_update_no_station_could_verify_is_refused_before_sending(
    files: FileService, certificate: str | None, signature: str | None, path: str
) -> None:
    good_certificate, good_signature = sign_image(b"image")
    station = Station201()
    image = await files.store_firmware("fw.bin", _one(b"image"))
    with pytest.raises(InvalidPayload) as refused:
        await update_firmware(
            station,
            files,
            "CP",
            image.id,
            retrieve_date=WHEN,
            signing_certificate=certificate or good_certificate,
            signature=signature or good_signature,
        )
    assert refused.value.path.endswith(path)
    assert station.sent == []
    assert await files.files.requests("CP") == []


async def test_accepted_canceled_cancels_the_running_update_only(files: FileService) -> None:
    certificate, signature = sign_image(b"image")
    station = Station201()
    image = await files.store_firmware("fw.bin", _one(b"image"))

    async def update() -> int:
        sent = await update_firmware(
            station,
            files,
            "CP",
            image.id,
            retrieve_date=WHEN,
            signing_certificate=certificate,
            signature=signature,
        )
        return sent.request.id

    done = await update()
    await files.files.record_notification("CP", FIRMWARE, done, "Installed", WHEN)
    running = await update()
    await files.files.record_notification("CP", FIRMWARE, running, "Downloading", WHEN)
    log = await get_log(station, files, "CP", log_type="DiagnosticsLog")
    station.status = "AcceptedCanceled"
    newest = await update()
    phases = {r.id: r.phase for r in await files.files.requests("CP")}
    assert phases == {
        done: TransferPhase.SUCCEEDED,
        running: TransferPhase.CANCELED,
        log.request.id: TransferPhase.REQUESTED,  # another kind: not the station's firmware
        newest: TransferPhase.REQUESTED,
    }
    history = [e.status for e in await files.files.status_history(running)]
    assert history == ["Requested", "Accepted", "Downloading", "Canceled"]


async def test_get_log_accepted_canceled_cancels_the_running_upload(files: FileService) -> None:
    station = Station201()
    first = await get_log(station, files, "CP", log_type="DiagnosticsLog")
    station.status = "AcceptedCanceled"
    second = await get_log(station, files, "CP", log_type="SecurityLog")
    assert (await files.files.request(first.request.id)).phase is TransferPhase.CANCELED  # type: ignore[union-attr]
    assert (await files.files.request(second.request.id)).phase is TransferPhase.REQUESTED  # type: ignore[union-attr]
