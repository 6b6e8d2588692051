"""PublishFirmwareStatusNotification (2.0.1 L03): a local controller publishing firmware.

After PublishFirmware, a local controller reports its progress (Downloading ... Published, with the
URIs it serves the image at). Each notification is stored whole (:mod:`csms.domain.notifications`)
by ``requestId`` and answered ``{}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.domain.notifications import NotificationLog
from csms.rpc import OcppVersion

__all__ = ["PublishFirmwareBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class PublishFirmwareBlock:
    """Station-initiated messages of firmware publication (2.x local controllers)."""

    def __init__(self, log: NotificationLog, *, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._clock = clock

    @handles(V2, "PublishFirmwareStatusNotification")
    async def publish_firmware_status(self, ctx: CallContext, payload: Payload) -> Payload:
        """L03: {status, location?, requestId?}."""
        await keep(self._log, ctx, "PublishFirmwareStatusNotification", payload, self._clock())
        return {}
