"""NotifyCustomerInformation (2.0.1 N09/N10): the customer data a station holds, in parts.

The answer to CustomerInformation(report = true) arrives as NotifyCustomerInformation parts
(``seqNo``, ``tbc``) for its ``requestId``; each is stored whole (:mod:`csms.domain.notifications`)
and answered ``{}``, and the API returns them by request, in the order received.
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

__all__ = ["CustomerInformationBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class CustomerInformationBlock:
    """Station-initiated customer information reports (2.x)."""

    def __init__(self, log: NotificationLog, *, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._clock = clock

    @handles(V2, "NotifyCustomerInformation")
    async def notify_customer_information(self, ctx: CallContext, payload: Payload) -> Payload:
        """N09/N10: {data, seqNo, tbc?, generatedAt, requestId}."""
        await keep(self._log, ctx, "NotifyCustomerInformation", payload, self._clock())
        return {}
