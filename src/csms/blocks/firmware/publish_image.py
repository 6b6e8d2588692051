"""Publish a stored image to a local controller (2.0.1 L03/L04), with a URL of csms's own.

:func:`publish_firmware` gives the local controller a per-request download URL of the built-in file
service (as UpdateFirmware does) and the image's MD5 as ``checksum``; the file request's id is the
OCPP ``requestId``, so each PublishFirmwareStatusNotification joins that request's status history.
:func:`unpublish_firmware` names the image by the same MD5.
"""

from __future__ import annotations

from csms.blocks.file_service import FileService
from csms.blocks.firmware.commands import FirmwareUpdate
from csms.blocks.firmware.publish_commands import (
    PublishFirmware,
    UnpublishFirmware,
    UnpublishFirmwareStatus,
)
from csms.blocks.outbound import require_2x, send
from csms.blocks.station_version import live_version
from csms.domain.errors import DomainError
from csms.domain.files import TransferKind
from csms.domain.ports import StationGateway

__all__ = ["publish_firmware", "unpublish_firmware"]


async def publish_firmware(
    gateway: StationGateway,
    files: FileService,
    station_id: str,
    firmware_id: str,
    *,
    retries: int | None = None,
    retry_interval: int | None = None,
    timeout: float | None = None,
) -> FirmwareUpdate:
    """Ask a 2.x local controller to download ``firmware_id`` and publish it (L03).

    Raises:
        UnknownFile: no such image. InvalidPayload: a 1.6 station (no PublishFirmware).
        StationNotConnected, CallTimeout, CallFailed, ...: from the gateway (the request is then
        stored with status CommandFailed).
    """
    require_2x("PublishFirmware", live_version(gateway, station_id))
    checksum = await files.image_md5(firmware_id)
    transfer = await files.new_transfer(
        station_id, TransferKind.FIRMWARE, "PublishFirmware", firmware_id=firmware_id
    )
    request = transfer.request
    command = PublishFirmware(request.id, transfer.url, checksum, retries, retry_interval)
    try:
        result = await send(gateway, station_id, command, timeout=timeout)
    except DomainError:
        await files.set_status(request.id, "CommandFailed")
        raise
    await files.set_status(request.id, result.status.value)
    return FirmwareUpdate(request=request, status=result.status.value)


async def unpublish_firmware(
    gateway: StationGateway,
    files: FileService,
    station_id: str,
    firmware_id: str,
    *,
    timeout: float | None = None,
) -> UnpublishFirmwareStatus:
    """Ask a 2.x local controller to stop publishing ``firmware_id`` (L04).

    Raises:
        UnknownFile: no such image; the gateway's errors.
    """
    checksum = await files.image_md5(firmware_id)
    return await send(gateway, station_id, UnpublishFirmware(checksum), timeout=timeout)
