"""PublishFirmwareStatusNotification (2.0.1 L03): a local controller publishing firmware.

After PublishFirmware, a local controller reports its progress (Downloading ... Published, with the
URIs it serves the image at). Each notification is stored whole (:mod:`csms.domain.notifications`)
by ``requestId`` and answered ``{}``; one naming a request csms sent
(:func:`csms.blocks.firmware.publish_image.publish_firmware`) also joins its status history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.domain.files import FileRepository, TransferKind
from csms.domain.notifications import NotificationLog
from csms.rpc import OcppVersion

__all__ = ["PublishFirmwareBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class PublishFirmwareBlock:
    """Station-initiated messages of firmware publication (2.x local controllers)."""

    def __init__(
        self,
        log: NotificationLog,
        *,
        clock: Callable[[], datetime],
        files: FileRepository | None = None,
    ) -> None:
        self._log = log
        self._clock = clock
        self._files = files

    @handles(V2, "PublishFirmwareStatusNotification")
    async def publish_firmware_status(self, ctx: CallContext, payload: Payload) -> Payload:
        """L03: {status, location?, requestId?}."""
        now = self._clock()
        await keep(self._log, ctx, "PublishFirmwareStatusNotification", payload, now)
        request_id = payload.get("requestId")
        if self._files is not None and request_id is not None:
            # Only a PublishFirmware csms sent with a URL of its own: an operator's raw
            # PublishFirmware may carry any requestId, even one of an UpdateFirmware.
            sent = await self._files.request(int(request_id))
            if sent and sent.station_id == ctx.station_id and sent.action == "PublishFirmware":
                await self._files.record_notification(
                    ctx.station_id, (TransferKind.FIRMWARE,), sent.id, payload["status"], now
                )
        return {}
