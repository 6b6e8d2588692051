"""Operator command: install a firmware image on a station, spelled for its version.

* 1.6 without a signature: UpdateFirmware {location, retrieveDate, retries, retryInterval}
  (1.6 §5.16); its .conf is empty, so the request counts as Accepted once answered.
* 1.6 with signing certificate and signature: SignedUpdateFirmware (whitepaper §5.18, L01).
* 2.0.1 / 2.1: UpdateFirmware {requestId, firmware{location, retrieveDateTime, ...}} (L01).

The location is a per-request URL of the built-in file service; the request's id is the OCPP
requestId, so SignedFirmwareStatusNotification / 2.x FirmwareStatusNotification find it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csms.blocks.file_service import FileService
from csms.blocks.pem import require_pem_certificate
from csms.blocks.station_version import live_version
from csms.blocks.timefmt import format_datetime
from csms.domain.errors import DomainError, InvalidPayload
from csms.domain.files import FileRequest, TransferKind
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "FirmwareUpdate", "check_signed", "update_firmware"]

# The (version, action) pairs these commands send, for the support matrix.
COMMANDS = frozenset(
    {(version, "UpdateFirmware") for version in OcppVersion}
    | {(OcppVersion.V16, "SignedUpdateFirmware")}
)


@dataclass(frozen=True, slots=True)
class FirmwareUpdate:
    """What the station answered: ``status`` is Accepted, Rejected, InvalidCertificate, ..."""

    request: FileRequest
    status: str


# FirmwareType.signingCertificate / signature maxLength (2.0.1; 1.6 whitepaper FirmwareType).
MAX_SIGNING_CERTIFICATE = 5500
MAX_SIGNATURE = 800


def check_signed(signing_certificate: str, signature: str) -> None:
    """Refuse what no station could verify, before anything is stored or sent (L01.FR.01: the
    station checks the firmware's signature with the signing certificate).

    Raises:
        InvalidPayload: the certificate is not one PEM X.509 certificate, the signature is not
            base64, or either exceeds the schema's maxLength.
    """
    if len(signing_certificate) > MAX_SIGNING_CERTIFICATE or len(signature) > MAX_SIGNATURE:
        raise InvalidPayload(
            f"signingCertificate is at most {MAX_SIGNING_CERTIFICATE} characters and signature "
            f"at most {MAX_SIGNATURE}"
        )
    require_pem_certificate(signing_certificate, "firmware.signingCertificate")
    try:
        base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidPayload("signature is not base64", path="firmware.signature") from None


async def update_firmware(
    gateway: StationGateway,
    files: FileService,
    station_id: str,
    firmware_id: str,
    *,
    retrieve_date: datetime,
    retries: int | None = None,
    retry_interval: int | None = None,
    install_date: datetime | None = None,
    signing_certificate: str | None = None,
    signature: str | None = None,
    timeout: float | None = None,
) -> FirmwareUpdate:
    """Send the station a URL of ``firmware_id`` to install; store the request and its answer.

    Raises:
        UnknownFile: no such image. InvalidPayload: only one of certificate and signature, or
        either malformed (:func:`check_signed`).
        StationNotConnected, CallTimeout, CallFailed, ...: from the gateway (the request is then
        stored with status CommandFailed).
    """
    version = live_version(gateway, station_id)
    if (signing_certificate is None) != (signature is None):
        raise InvalidPayload("give both signing_certificate and signature, or neither")
    signed = signature is not None
    if signing_certificate is not None and signature is not None:
        check_signed(signing_certificate, signature)
    if version is OcppVersion.V16:
        action = "SignedUpdateFirmware" if signed else "UpdateFirmware"
    else:
        action = "UpdateFirmware"
    transfer = await files.new_transfer(
        station_id,
        TransferKind.FIRMWARE,
        action,
        firmware_id=firmware_id,
        not_before=retrieve_date,
        details={"signed": signed},
    )
    request = transfer.request
    options: dict[str, Any] = {
        k: v for k, v in (("retries", retries), ("retryInterval", retry_interval)) if v is not None
    }
    if action == "UpdateFirmware" and version is OcppVersion.V16:
        payload = {
            "location": transfer.url,
            "retrieveDate": format_datetime(retrieve_date),
            **options,
        }
    else:
        firmware: dict[str, Any] = {
            "location": transfer.url,
            "retrieveDateTime": format_datetime(retrieve_date),
        }
        if install_date is not None:
            firmware["installDateTime"] = format_datetime(install_date)
        if signed:
            firmware["signingCertificate"] = signing_certificate
            firmware["signature"] = signature
        payload = {"requestId": request.id, "firmware": firmware, **options}
    try:
        reply = await gateway.call(station_id, action, payload, timeout=timeout)
    except DomainError:
        await files.set_status(request.id, "CommandFailed")
        raise
    status = str(reply.get("status", "Accepted"))  # 1.6 UpdateFirmware.conf is empty
    await files.set_status(request.id, status)
    if status == "AcceptedCanceled":  # the update that was running is canceled (L01.FR.24)
        await files.cancel_superseded(request, (TransferKind.FIRMWARE,))
    return FirmwareUpdate(request=request, status=status)
