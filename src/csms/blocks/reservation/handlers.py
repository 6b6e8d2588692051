"""ReservationStatusUpdate (2.0.1 H04; 2.1 keeps it): the station ended a reservation itself.

A station tells the CSMS when a reservation expired at the station (``Expired``) or was removed
there (``Removed``), e.g. after a reboot. csms applies it to the reservation it made, if that is
this station's and still active (a used or cancelled reservation keeps its end), and always
answers ``{}``: the message is a fact the station reports, not a request to refuse. Every
update is also kept whole (:mod:`csms.domain.notifications`), including one naming an unknown
reservation, so nothing the station said is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.domain.charging_ports import ReservationRepository
from csms.domain.notifications import NotificationLog
from csms.domain.reservations import ReservationStatus
from csms.rpc import OcppVersion

__all__ = ["ReservationBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)

# ReservationUpdateStatusEnumType; 2.1 adds NoTransaction.
_STATUSES = {
    "Expired": ReservationStatus.EXPIRED,
    "Removed": ReservationStatus.REMOVED,
    "NoTransaction": ReservationStatus.NO_TRANSACTION,
}


class ReservationBlock:
    """Station-initiated messages of the reservation block (2.x)."""

    def __init__(
        self,
        reservations: ReservationRepository,
        log: NotificationLog,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._reservations = reservations
        self._log = log
        self._clock = clock

    @handles(V2, "ReservationStatusUpdate")
    async def reservation_status_update(self, ctx: CallContext, payload: Payload) -> Payload:
        """H04: {reservationId, reservationUpdateStatus: Expired | Removed (| NoTransaction, 2.1)}."""
        now = self._clock()
        await keep(self._log, ctx, "ReservationStatusUpdate", payload, now)
        reservation_id = int(payload["reservationId"])
        status = _STATUSES[payload["reservationUpdateStatus"]]
        reservation = await self._reservations.get(reservation_id, now)
        if reservation is None or reservation.station_id != ctx.station_id:
            ctx.log.info(
                "ReservationStatusUpdate for reservation %d, which is not this station's",
                reservation_id,
            )
        elif reservation.active or reservation.status is ReservationStatus.EXPIRED:
            await self._reservations.set_status(reservation_id, status, now)
        return {}
