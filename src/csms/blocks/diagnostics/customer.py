"""NotifyCustomerInformation (2.0.1 N09/N10): the customer data a station holds, in parts.

The answer to CustomerInformation(report = true) arrives as NotifyCustomerInformation parts
(``seqNo``, ``tbc``) for its ``requestId``; each is stored whole (:mod:`csms.domain.notifications`)
and answered ``{}``. :func:`customer_information` joins a request's parts into one report: their
``data`` in ``seqNo`` order (a station splits one text over parts of at most 512 characters),
with whether every part up to the last one (``tbc`` false) has arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
from csms.domain.notifications import NotificationLog, StationNotification
from csms.rpc import OcppVersion

__all__ = [
    "MAX_PARTS",
    "CustomerInformationBlock",
    "CustomerInformationReport",
    "assemble",
    "customer_information",
]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)
ACTION = "NotifyCustomerInformation"
# The parts read for one report (512 characters each: 512 kB of customer data).
MAX_PARTS = 1000


@dataclass(frozen=True, slots=True)
class CustomerInformationReport:
    """One CustomerInformation request's answer, assembled from its parts.

    ``complete`` when parts 0..n all arrived and part n is the last (``tbc`` false); ``missing``
    lists the seqNos not (yet) received below the highest one; a repeated seqNo counts once (the
    first received wins, as for every retried station message).
    """

    request_id: int
    data: str
    parts: int
    complete: bool
    missing: tuple[int, ...]
    generated_at: datetime
    received_at: datetime


def assemble(request_id: int, parts: Sequence[StationNotification]) -> CustomerInformationReport:
    """Join ``parts`` (any order, at least one) of one request into one report."""
    if not parts:
        raise ValueError("no parts to assemble")
    by_seq: dict[int, StationNotification] = {}
    for part in sorted(parts, key=lambda p: p.id or 0):  # storage order: first received wins
        by_seq.setdefault(int(part.payload["seqNo"]), part)
    ordered = [by_seq[seq] for seq in sorted(by_seq)]
    last = ordered[-1]
    highest = int(last.payload["seqNo"])
    missing = tuple(seq for seq in range(highest) if seq not in by_seq)
    received_at = max(p.received_at for p in ordered)
    return CustomerInformationReport(
        request_id=request_id,
        data="".join(str(p.payload.get("data", "")) for p in ordered),
        parts=len(ordered),
        complete=not missing and not last.payload.get("tbc", False),
        missing=missing,
        generated_at=station_time(last.payload.get("generatedAt"), received_at),
        received_at=received_at,
    )


async def customer_information(
    log: NotificationLog, station_id: str, request_id: int
) -> CustomerInformationReport | None:
    """The station's answer to CustomerInformation ``request_id``; None before any part."""
    parts = await log.list(station_id, action=ACTION, request_id=request_id, limit=MAX_PARTS)
    return assemble(request_id, parts) if parts else None


class CustomerInformationBlock:
    """Station-initiated customer information reports (2.x)."""

    def __init__(self, log: NotificationLog, *, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._clock = clock

    @handles(V2, ACTION)
    async def notify_customer_information(self, ctx: CallContext, payload: Payload) -> Payload:
        """N09/N10: {data, seqNo, tbc?, generatedAt, requestId}."""
        await keep(self._log, ctx, ACTION, payload, self._clock())
        return {}
