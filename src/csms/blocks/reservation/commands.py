"""ReserveNow and CancelReservation: typed operator commands over the station gateway.

The reservation is stored (status Requested, with a fresh reservationId from a persistent
sequence) *before* the CALL, so the id is never reused and the station's answer always finds
its row. The answer becomes the status; a CALLERROR or a refused command marks it Rejected; an
unknown outcome (timeout, connection lost) leaves it Requested, since the station may hold it,
and it then simply expires. Expiry is applied when read (see :mod:`csms.domain.reservations`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csms.blocks.authorization.payloads import GROUP_TOKEN_TYPE
from csms.blocks.timefmt import format_datetime
from csms.domain.charging_ports import IdTokenRepository, ReservationRepository
from csms.domain.errors import (
    CallOutcomeUnknown,
    CallTimeout,
    DomainError,
    StationNotConnected,
    UnknownReservation,
)
from csms.domain.ports import StationGateway
from csms.domain.reservations import Reservation, ReservationStatus

__all__ = ["CancelReservationResult", "cancel_reservation", "reserve_now"]

_STATION_ANSWERS = {s.value: s for s in ReservationStatus}


async def reserve_now(
    gateway: StationGateway,
    reservations: ReservationRepository,
    tokens: IdTokenRepository,
    *,
    station_id: str,
    connector_id: int,
    id_token: str,
    expiry_date: datetime,
    now: datetime,
    parent_id_token: str | None = None,
    timeout: float | None = None,
) -> Reservation:
    """Reserve ``connector_id`` (1.6 connectorId, 0 = any; 2.x evseId) for ``id_token``.

    Without ``parent_id_token``, the token's stored parent is used, so the whole group may use
    the reservation (1.6 §3.11).

    Returns:
        The reservation with the station's answer as its status (Accepted, Occupied, ...).

    Raises:
        StationNotConnected (nothing stored), and the gateway's errors after the reservation was
        stored: CallTimeout / CallOutcomeUnknown (left Requested), CallFailed, InvalidPayload,
        CommandNotAllowed, StationBusy (marked Rejected).
    """
    version = gateway.ocpp_version(station_id)
    if version is None:
        raise StationNotConnected(f"station {station_id!r} is not connected")
    if parent_id_token is None:
        token = await tokens.get(id_token)
        parent_id_token = token.parent_id_token if token is not None else None
    reservation = await reservations.create(
        station_id=station_id,
        connector_id=connector_id,
        id_token=id_token,
        parent_id_token=parent_id_token,
        expiry_date=expiry_date,
        now=now,
    )
    payload = _reserve_now_v16(reservation) if version == "1.6" else _reserve_now_v2(reservation)
    try:
        answer = await gateway.call(station_id, "ReserveNow", payload, timeout=timeout)
    except (CallTimeout, CallOutcomeUnknown):
        raise
    except DomainError:
        await reservations.set_status(reservation.reservation_id, ReservationStatus.REJECTED, now)
        raise
    status = _STATION_ANSWERS.get(answer.get("status", ""), ReservationStatus.REJECTED)
    await reservations.set_status(reservation.reservation_id, status, now)
    return dataclasses.replace(reservation, status=status, updated_at=now)


def _reserve_now_v16(r: Reservation) -> dict[str, Any]:
    """1.6 §6.37 ReserveNow.req."""
    payload: dict[str, Any] = {
        "connectorId": r.connector_id,
        "expiryDate": format_datetime(r.expiry_date),
        "idTag": r.id_token,
        "reservationId": r.reservation_id,
    }
    if r.parent_id_token is not None:
        payload["parentIdTag"] = r.parent_id_token
    return payload


def _reserve_now_v2(r: Reservation) -> dict[str, Any]:
    """2.x ReserveNowRequest: evseId omitted for "any EVSE" (connector 0)."""
    payload: dict[str, Any] = {
        "id": r.reservation_id,
        "expiryDateTime": format_datetime(r.expiry_date),
        "idToken": {"idToken": r.id_token, "type": GROUP_TOKEN_TYPE},
    }
    if r.connector_id > 0:
        payload["evseId"] = r.connector_id
    if r.parent_id_token is not None:
        payload["groupIdToken"] = {"idToken": r.parent_id_token, "type": GROUP_TOKEN_TYPE}
    return payload


@dataclass(frozen=True, slots=True)
class CancelReservationResult:
    """The station's answer (Accepted: it held the reservation and dropped it; Rejected: it
    had none with that id) and the reservation as stored afterwards."""

    status: str
    reservation: Reservation


async def cancel_reservation(
    gateway: StationGateway,
    reservations: ReservationRepository,
    reservation_id: int,
    *,
    now: datetime,
    timeout: float | None = None,
) -> CancelReservationResult:
    """Send CancelReservation (1.6 §5.1; 2.0.1 H02) to the station holding the reservation.

    Raises:
        UnknownReservation, and the gateway's errors (nothing changes then).
    """
    reservation = await reservations.get(reservation_id, now)
    if reservation is None:
        raise UnknownReservation(str(reservation_id))
    answer = await gateway.call(
        reservation.station_id,
        "CancelReservation",
        {"reservationId": reservation_id},
        timeout=timeout,
    )
    status = str(answer.get("status", ""))
    if status == "Accepted":
        await reservations.set_status(reservation_id, ReservationStatus.CANCELLED, now)
        reservation = dataclasses.replace(
            reservation, status=ReservationStatus.CANCELLED, updated_at=now
        )
    return CancelReservationResult(status, reservation)
