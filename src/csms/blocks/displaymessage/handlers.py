"""NotifyDisplayMessages (2.0.1 O04): the station's answer to GetDisplayMessages, in parts.

Each part (``tbc`` while more follow) is stored whole by ``requestId``
(:mod:`csms.domain.notifications`) and answered ``{}``.
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

__all__ = ["DisplayMessageBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class DisplayMessageBlock:
    """Station-initiated messages of the display message block (2.x)."""

    def __init__(self, log: NotificationLog, *, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._clock = clock

    @handles(V2, "NotifyDisplayMessages")
    async def notify_display_messages(self, ctx: CallContext, payload: Payload) -> Payload:
        """O04: {requestId, messageInfo?, tbc?}."""
        await keep(self._log, ctx, "NotifyDisplayMessages", payload, self._clock())
        return {}
