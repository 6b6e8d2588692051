"""Every firmware/diagnostics/security command builds a payload the official schema of each
version accepts, and reads the version's reply; checked against the real OCA schemas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csms.blocks.diagnostics.commands import get_diagnostics, get_log
from csms.blocks.file_service import FileService
from csms.blocks.firmware.commands import update_firmware
from csms.blocks.security.commands import (
    delete_certificate,
    get_installed_certificate_ids,
    install_certificate,
    rotate_authorization_key,
)
from csms.domain.credentials import verify_password
from csms.domain.errors import InvalidPayload
from csms.domain.model import RegistrationStatus, Station
from csms.domain.security import CertificateHashData
from csms.messages import MessageValidator
from csms.rpc import OcppVersion
from csms.storage import Store, open_store
from csms.storage.blobs import DiskBlobStore
from tests.firmware_signing import self_signed, sign_image

HASH = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "ab",
    "issuerKeyHash": "cd",
    "serialNumber": "1",
}

REPLIES: dict[str, dict[str, Any]] = {
    "UpdateFirmware": {"status": "Accepted"},
    "SignedUpdateFirmware": {"status": "Accepted"},
    "GetDiagnostics": {"fileName": "diag.zip"},
    "GetLog": {"status": "Accepted", "filename": "log.txt"},
    "InstallCertificate": {"status": "Accepted"},
    "DeleteCertificate": {"status": "Accepted"},
    "ChangeConfiguration": {"status": "Accepted"},
    "SetVariables": {
        "setVariableResult": [
            {
                "attributeStatus": "Accepted",
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }
        ]
    },
}


class SchemaCheckingGateway:
    """A connected station of one version: requests and replies are schema-checked."""

    def __init__(self, version: OcppVersion) -> None:
        self.version = version
        self.validator = MessageValidator(version)
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def is_connected(self, station_id: str) -> bool:
        return True

    def ocpp_version(self, station_id: str) -> str | None:
        return self.version.value

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        self.validator.validate_request(action, payload)
        self.sent.append((action, payload))
        if action == "UpdateFirmware" and self.version is OcppVersion.V16:
            reply: dict[str, Any] = {}
        elif action == "GetInstalledCertificateIds":
            reply = (
                {"status": "Accepted", "certificateHashData": [HASH]}
                if self.version is OcppVersion.V16
                else {
                    "status": "Accepted",
                    "certificateHashDataChain": [
                        {"certificateType": "CSMSRootCertificate", "certificateHashData": HASH}
                    ],
                }
            )
        else:
            reply = REPLIES[action]
        self.validator.validate_response(action, reply)
        return reply


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}")
    await store.stations.add(Station(id="CP", registration_status=RegistrationStatus.ACCEPTED))
    try:
        yield store
    finally:
        await store.aclose()


def _files(store: Store, tmp_path: Path) -> FileService:
    return FileService(
        store.files,
        DiskBlobStore(tmp_path / "data"),
        public_url="http://csms.example:8080",
        url_ttl=3600,
        max_firmware_size=10_000,
        max_upload_size=10_000,
        clock=lambda: datetime.now(UTC),
    )


async def _one(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


@pytest.mark.parametrize("version", list(OcppVersion))
async def test_file_commands_per_version(
    version: OcppVersion, store: Store, tmp_path: Path
) -> None:
    gateway = SchemaCheckingGateway(version)
    files = _files(store, tmp_path)
    image = await files.store_firmware("fw.bin", _one(b"image"))
    when = datetime(2030, 1, 1, tzinfo=UTC)
    plain = await update_firmware(gateway, files, "CP", image.id, retrieve_date=when, retries=3)
    certificate, signature = sign_image(b"image")
    signed = await update_firmware(
        gateway,
        files,
        "CP",
        image.id,
        retrieve_date=when,
        signing_certificate=certificate,
        signature=signature,
    )
    diagnostics = await get_diagnostics(gateway, files, "CP", start_time=when)
    log = await get_log(gateway, files, "CP", log_type="SecurityLog", latest=when)
    assert [plain.status, signed.status, diagnostics.status, log.status] == ["Accepted"] * 4
    actions = [action for action, _ in gateway.sent]
    if version is OcppVersion.V16:
        assert actions == ["UpdateFirmware", "SignedUpdateFirmware", "GetDiagnostics", "GetLog"]
        assert gateway.sent[0][1]["location"].endswith("/fw.bin")
        assert gateway.sent[1][1]["requestId"] == signed.request.id
    else:
        assert actions == ["UpdateFirmware", "UpdateFirmware", "GetLog", "GetLog"]
        assert gateway.sent[2][1]["logType"] == "DiagnosticsLog"
        assert gateway.sent[0][1]["requestId"] == plain.request.id
    stored = await store.files.requests("CP")
    assert {r.status for r in stored} == {"Accepted"}


@pytest.mark.parametrize("version", list(OcppVersion))
async def test_security_commands_per_version(version: OcppVersion, store: Store) -> None:
    gateway = SchemaCheckingGateway(version)
    pem = self_signed("CSMS root")[1]
    assert await install_certificate(gateway, "CP", "CSMSRootCertificate", pem) == "Accepted"
    with pytest.raises(InvalidPayload, match=r"not a PEM X\.509 certificate"):
        await install_certificate(gateway, "CP", "CSMSRootCertificate", "PEM")
    found = await get_installed_certificate_ids(
        gateway, store.security, "CP", ["CSMSRootCertificate"]
    )
    assert [c.certificate_type for c in found.certificates] == ["CSMSRootCertificate"]
    assert len(await store.security.installed("CP")) == 1
    hash_data = CertificateHashData("SHA256", "ab", "cd", "1")
    assert await delete_certificate(gateway, store.security, "CP", hash_data) == "Accepted"
    assert await store.security.installed("CP") == []
    rotation = await rotate_authorization_key(gateway, store.stations, "CP")
    assert rotation.rotated
    key = (
        gateway.sent[-1][1].get("value")
        or gateway.sent[-1][1]["setVariableData"][0]["attributeValue"]
    )
    station = await store.stations.get("CP")
    assert station is not None and station.password_hash is not None
    assert verify_password(key.encode(), station.password_hash)


@pytest.mark.parametrize("version", list(OcppVersion))
async def test_rotation_answered_reboot_required_keeps_the_new_password_pending(
    version: OcppVersion, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A01: RebootRequired stores the new hash as pending, the current one unchanged; storing a
    password (the listener does so on the first connection with the pending one) clears it."""
    monkeypatch.setitem(REPLIES, "ChangeConfiguration", {"status": "RebootRequired"})
    result = dict(REPLIES["SetVariables"]["setVariableResult"][0], attributeStatus="RebootRequired")
    monkeypatch.setitem(REPLIES, "SetVariables", {"setVariableResult": [result]})
    await store.stations.set_password_hash("CP", "current-hash")
    gateway = SchemaCheckingGateway(version)
    rotation = await rotate_authorization_key(gateway, store.stations, "CP")
    assert (rotation.status, rotation.rotated) == ("RebootRequired", False)
    sent = gateway.sent[-1][1]
    key = sent.get("value") or sent["setVariableData"][0]["attributeValue"]
    station = await store.stations.get("CP")
    assert station is not None and station.password_hash == "current-hash"
    assert station.pending_password_hash is not None
    assert verify_password(key.encode(), station.pending_password_hash)
    await store.stations.set_password_hash("CP", station.pending_password_hash)
    station = await store.stations.get("CP")
    assert station is not None and station.pending_password_hash is None
    assert station.password_hash is not None and verify_password(
        key.encode(), station.password_hash
    )
