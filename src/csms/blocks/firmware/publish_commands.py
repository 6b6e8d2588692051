"""PublishFirmware and UnpublishFirmware (2.0.1 L03/L04): a local controller serves firmware.

A local controller downloads the image once from ``location`` and publishes it to the stations
behind it; it reports progress with PublishFirmwareStatusNotification (kept by
:class:`~csms.blocks.firmware.publish.PublishFirmwareBlock`). The MD5 ``checksum`` names the
image (32 hex digits, as the schema requires).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from csms.blocks.outbound import (
    Payload,
    read_status,
    read_status_info,
    require_2x,
    sends,
    sent_actions,
)
from csms.domain.commands import AcceptStatus, CommandResult
from csms.domain.errors import InvalidPayload
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "PublishFirmware", "UnpublishFirmware", "UnpublishFirmwareStatus"]

V2 = (OcppVersion.V201, OcppVersion.V21)
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


class UnpublishFirmwareStatus(enum.StrEnum):
    """2.x UnpublishFirmwareStatusEnumType."""

    DOWNLOAD_ONGOING = "DownloadOngoing"
    NO_FIRMWARE = "NoFirmware"
    UNPUBLISHED = "Unpublished"


def _check_md5(checksum: str) -> None:
    if not _MD5.match(checksum):
        raise InvalidPayload("checksum must be the image's MD5, 32 hex digits")


@sends(V2, "PublishFirmware")
@dataclass(frozen=True, slots=True)
class PublishFirmware:
    """L03: download the image at ``location`` and publish it to the local stations."""

    request_id: int
    location: str
    checksum: str
    retries: int | None = None
    retry_interval: int | None = None

    def __post_init__(self) -> None:
        _check_md5(self.checksum)

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("PublishFirmware", version)
        payload: Payload = {
            "requestId": self.request_id,
            "location": self.location,
            "checksum": self.checksum.lower(),
        }
        if self.retries is not None:
            payload["retries"] = self.retries
        if self.retry_interval is not None:
            payload["retryInterval"] = self.retry_interval
        return "PublishFirmware", payload

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[AcceptStatus]:
        return CommandResult(read_status(AcceptStatus, payload), read_status_info(payload))


@sends(V2, "UnpublishFirmware")
@dataclass(frozen=True, slots=True)
class UnpublishFirmware:
    """L04: stop publishing the image with this MD5 ``checksum``."""

    checksum: str

    def __post_init__(self) -> None:
        _check_md5(self.checksum)

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("UnpublishFirmware", version)
        return "UnpublishFirmware", {"checksum": self.checksum.lower()}

    def result(self, version: OcppVersion, payload: Payload) -> UnpublishFirmwareStatus:
        return read_status(UnpublishFirmwareStatus, payload)


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(PublishFirmware, UnpublishFirmware)
