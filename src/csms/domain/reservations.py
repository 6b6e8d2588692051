"""Reservations (1.6 §3.11, §5.13 ReserveNow, §5.1 CancelReservation; 2.0.1 H).

The CSMS chooses the reservationId (from a persistent sequence, unique across stations) and keeps
each reservation with its expiry. It ends when a StartTransaction carries its id (Used), when an
operator cancels it (Cancelled), or when its expiry passes (Expired). Expiry is applied lazily,
when a reservation is read (:meth:`Reservation.as_of`): the station releases the connector by
itself at expiry (§5.13), so nothing needs to be sent, and a sweep would only rewrite rows.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime


class ReservationStatus(enum.StrEnum):
    """Where a reservation stands; the station's answers are 1.6 §7.40 ReservationStatus."""

    REQUESTED = "Requested"  # sent; no answer yet, or the outcome is unknown
    ACCEPTED = "Accepted"
    FAULTED = "Faulted"
    OCCUPIED = "Occupied"
    REJECTED = "Rejected"
    UNAVAILABLE = "Unavailable"
    CANCELLED = "Cancelled"
    REMOVED = "Removed"  # the station removed it (2.x ReservationStatusUpdate, H04)
    NO_TRANSACTION = "NoTransaction"  # 2.1 H04: the reservation ended without a transaction
    USED = "Used"
    EXPIRED = "Expired"


# Statuses a reservation may still end from (expire, be used or be cancelled).
ACTIVE_STATUSES = frozenset({ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED})


@dataclass(frozen=True, slots=True)
class Reservation:
    reservation_id: int
    station_id: str
    connector_id: int  # 1.6 connectorId (0: any connector); 2.x evseId
    id_token: str
    expiry_date: datetime
    status: ReservationStatus
    parent_id_token: str | None = None
    transaction_id: str | None = None  # the transaction that used it (1.6: its id as text)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def as_of(self, now: datetime) -> Reservation:
        """This reservation with its expiry applied at ``now``."""
        if self.status in ACTIVE_STATUSES and self.expiry_date <= now:
            return dataclasses.replace(self, status=ReservationStatus.EXPIRED)
        return self

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES
