"""FirmwareStatusNotification (1.6, 2.x) and SignedFirmwareStatusNotification (1.6 security ext.).

Every status is stored in the request's history and always answered with ``{}`` (1.6 §6.27
FirmwareStatusNotification.conf has no fields; whitepaper §5.21; 2.0.1 L01.FR.xx). A 1.6
FirmwareStatusNotification carries no request id: it belongs to the station's newest firmware
request. ``Idle`` (sent on a TriggerMessage when nothing runs, 1.6 §6.27) belongs to no request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.domain.files import FileRepository, TransferKind
from csms.rpc import OcppVersion

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)
_FIRMWARE = (TransferKind.FIRMWARE,)


class FirmwareBlock:
    """Handlers of the firmware block."""

    def __init__(self, files: FileRepository, *, clock: Callable[[], datetime]) -> None:
        self._files = files
        self._clock = clock

    @handles((OcppVersion.V16, *V2), "FirmwareStatusNotification")
    async def firmware_status_notification(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.27 {status}; 2.x {status, requestId?}."""
        return await self._record(ctx, payload)

    @handles(OcppVersion.V16, "SignedFirmwareStatusNotification")
    async def signed_firmware_status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> Payload:
        """1.6 security whitepaper §5.21 {status, requestId?}."""
        return await self._record(ctx, payload)

    async def _record(self, ctx: CallContext, payload: Payload) -> Payload:
        status = payload["status"]
        request = await self._files.record_notification(
            ctx.station_id,
            _FIRMWARE,
            payload.get("requestId"),
            status,
            self._clock(),
            attach=status != "Idle",
        )
        ctx.log.info(
            "firmware status %s (request %s)", status, request.id if request else "unknown"
        )
        return {}
