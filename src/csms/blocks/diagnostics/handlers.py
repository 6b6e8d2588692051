"""DiagnosticsStatusNotification (1.6) and LogStatusNotification (1.6 security ext., 2.x).

Stored in the request's history and always answered with ``{}`` (1.6 §6.21; whitepaper §5.9;
2.0.1 N01). A 1.6 DiagnosticsStatusNotification carries no request id: it belongs to the station's
newest GetDiagnostics; ``Idle`` belongs to no request. A LogStatusNotification ``AcceptedCanceled``
says the upload of its request was canceled for a newer GetLog (UploadLogStatusEnumType): it is
kept as csms's status ``Canceled`` (:data:`csms.domain.files.CANCELED`), which the GetLog answer
AcceptedCanceled has usually set already, not as a request still waiting for its upload.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.diagnostics.commands import LOG_KINDS
from csms.blocks.routing import handles
from csms.domain.files import CANCELED, FileRepository, TransferKind
from csms.rpc import OcppVersion

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class DiagnosticsBlock:
    """Handlers of the diagnostics block."""

    def __init__(self, files: FileRepository, *, clock: Callable[[], datetime]) -> None:
        self._files = files
        self._clock = clock

    @handles(OcppVersion.V16, "DiagnosticsStatusNotification")
    async def diagnostics_status_notification(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.21 {status}: Idle, Uploaded, UploadFailed, Uploading."""
        return await self._record(ctx, (TransferKind.DIAGNOSTICS,), payload)

    @handles((OcppVersion.V16, *V2), "LogStatusNotification")
    async def log_status_notification(self, ctx: CallContext, payload: Payload) -> Payload:
        """Whitepaper §5.9 / 2.x {status, requestId?}; a 2.x GetDiagnostics went out as GetLog."""
        if payload["status"] == "AcceptedCanceled" and payload.get("requestId") is not None:
            payload = {**payload, "status": CANCELED}
        return await self._record(ctx, LOG_KINDS, payload)

    async def _record(
        self, ctx: CallContext, kinds: tuple[TransferKind, ...], payload: Payload
    ) -> Payload:
        status = payload["status"]
        request = await self._files.record_notification(
            ctx.station_id,
            kinds,
            payload.get("requestId"),
            status,
            self._clock(),
            attach=status != "Idle",
        )
        ctx.log.info("upload status %s (request %s)", status, request.id if request else "unknown")
        return {}
